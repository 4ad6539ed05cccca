package status

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"livechat-auth/provider"
)

func TestPage(t *testing.T) {
	now := time.Unix(1800000000, 0)
	rec := &Recorder{}
	rec.Record("extauth", provider.Decision{Cmd: "auth", Name: "alice", Result: "accepted"}, now.Add(-2*time.Minute))
	rec.Record("extauth", provider.Decision{Cmd: "auth", Name: "<b>bob</b>", Result: "bad-password"}, now.Add(-30*time.Minute))
	rec.Record("extauth", provider.Decision{Cmd: "auth", Name: "carol", Result: "bad-password"}, now.Add(-61*time.Minute)) // out of the hour
	locks := map[string]bool{"alice": true}
	h := New(Config{
		Secret: []byte("the status secret"),
		Snapshot: func(context.Context) Snapshot {
			var s Snapshot
			for name := range locks {
				s.Locks = append(s.Locks, provider.Lock{Name: name, Failures: 6, Until: now.Add(time.Minute)})
			}
			s.Health = []Check{{Name: "wiki database", OK: true, Detail: "<script>x</script>"}}
			return s
		},
		ClearLock: func(name string) bool { had := locks[name]; delete(locks, name); return had },
		IsAccount: func(context.Context, string) (bool, error) { return true, nil },
		Recorder:  rec,
		Now:       func() time.Time { return now },
	})
	do := func(method, target, secret string, form url.Values, header map[string]string) *httptest.ResponseRecorder {
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		r := httptest.NewRequest(method, target, body)
		if form != nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if secret != "" {
			r.SetBasicAuth("admin", secret)
		}
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("GET", "/", "", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("no secret: %d", w.Code)
	}
	if w := do("GET", "/", "wrong", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d", w.Code)
	}
	w := do("GET", "/", "the status secret", nil, nil)
	page := w.Body.String()
	if w.Code != 200 || !strings.Contains(page, `data-edge="extauth" data-result="bad-password"><td>extauth</td><td>bad-password</td><td class="num">0</td><td class="num">1</td>`) ||
		!strings.Contains(page, `data-result="accepted"><td>extauth</td><td>accepted</td><td class="num">1</td><td class="num">1</td>`) {
		t.Fatalf("page %d:\n%s", w.Code, page)
	}
	if !strings.Contains(page, `<tr data-name="alice"><td>alice</td>`) || strings.Contains(page, "other-locks") {
		t.Errorf("alice's lock is not in the accounts' table alone:\n%s", page)
	}
	if strings.Contains(page, "<script>") {
		t.Error("a detail was not escaped")
	}
	if !strings.Contains(page, `<td>auth</td><td>&lt;b&gt;bob&lt;/b&gt;</td><td>bad-password</td>`) || strings.Contains(page, "<b>bob</b>") {
		t.Errorf("the refusal of <b>bob</b> is not listed, escaped:\n%s", page)
	}
	if w := do("GET", "/status.json", "", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("the JSON form without the secret: %d", w.Code)
	}
	jw := do("GET", "/status.json", "the status secret", nil, nil)
	var js struct {
		Refusals []Refusal `json:"refusals"`
		Locks    []provider.Lock
		Now      time.Time
	}
	if err := json.Unmarshal(jw.Body.Bytes(), &js); err != nil || jw.Code != 200 || jw.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status.json: %d %v\n%s", jw.Code, err, jw.Body.String())
	}
	if len(js.Refusals) != 2 || js.Refusals[1].Name != "<b>bob</b>" || js.Refusals[1].Reason != "bad-password" || len(js.Locks) != 1 || !js.Now.Equal(now) {
		t.Errorf("status.json: %+v", js)
	}
	form := url.Values{"name": {"alice"}}
	if w := do("POST", "/locks/clear", "the status secret", form, nil); w.Code != http.StatusForbidden || !locks["alice"] {
		t.Errorf("clear without the form token: %d, lock kept %v", w.Code, locks["alice"])
	}
	form.Set("csrf", h.csrf)
	if w := do("POST", "/locks/clear", "the status secret", form, map[string]string{"Sec-Fetch-Site": "cross-site"}); w.Code != http.StatusForbidden {
		t.Errorf("cross-site clear: %d", w.Code)
	}
	if w := do("POST", "/locks/clear", "the status secret", form, map[string]string{"Origin": "http://evil.example"}); w.Code != http.StatusForbidden {
		t.Errorf("clear from another origin: %d", w.Code)
	}
	if w := do("POST", "/locks/clear", "", form, nil); w.Code != http.StatusUnauthorized || !locks["alice"] {
		t.Errorf("clear without the secret: %d", w.Code)
	}
	cleared := do("POST", "/locks/clear", "the status secret", form, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if cleared.Code != http.StatusSeeOther || locks["alice"] {
		t.Errorf("clear: %d, lock kept %v", cleared.Code, locks["alice"])
	}
	if w := do("GET", cleared.Header().Get("Location"), "the status secret", nil, nil); !strings.Contains(w.Body.String(), "cleared the lock on alice") {
		t.Errorf("the redirect after clearing does not say so:\n%s", w.Body.String())
	}
	if w := do("GET", "/?done=Your+account+is+compromised", "the status secret", nil, nil); strings.Contains(w.Body.String(), "compromised") {
		t.Error("the page shows text from the request")
	}
	if w := do("GET", "/?done=cleared&name=admin+-+SECURITY:+call+555", "the status secret", nil, nil); strings.Contains(w.Body.String(), "SECURITY") {
		t.Error("a link made elsewhere puts its own words on the page")
	}
	if w := do("DELETE", "/", "the status secret", nil, nil); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") == "" {
		t.Errorf("DELETE /: %d %q", w.Code, w.Header().Get("Allow"))
	}
}

// TestPageRefusesOtherHosts: without a secret (loopback), a request under
// another Host (DNS rebinding through the operator's browser) is refused.
func TestPageRefusesOtherHosts(t *testing.T) {
	h := New(Config{Snapshot: func(context.Context) Snapshot { return Snapshot{} }, ClearLock: func(string) bool { return true },
		Hosts: []string{"127.0.0.1:8485"}})
	for host, want := range map[string]int{"127.0.0.1:8485": 200, "localhost:8485": 200, "[::1]:8485": 200,
		"rebind.attacker.example:8485": http.StatusMisdirectedRequest, "attacker.example": http.StatusMisdirectedRequest} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %s: %d; want %d", host, w.Code, want)
		}
	}
}
