package webproxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestProxyMapsPathsAndHost(t *testing.T) {
	var gotPath, gotHost, gotForwarded string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotHost, gotForwarded = r.URL.Path, r.Host, r.Header.Get("X-Forwarded-Host")
		_, _ = io.WriteString(w, "upstream")
	}))
	defer upstream.Close()
	tests := []struct {
		name, prefix, upstream, host, request, wantPath string
	}{
		{"websocket", "/xmpp-websocket", "ws" + upstream.URL[4:] + "/ws", "", "/xmpp-websocket", "/ws"},
		{"bosh with a subpath", "/http-bind", upstream.URL + "/bosh", "", "/http-bind/x", "/bosh/x"},
		{"host header for Prosody", "/chat/", upstream.URL + "/xmpp-websocket", "localhost", "/chat/", "/xmpp-websocket/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.prefix, tt.upstream, tt.host, hclog.NewNullLogger())
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "http://wiki.test"+tt.request, nil)
			h.ServeHTTP(w, r)
			if w.Code != 200 || gotPath != tt.wantPath || gotForwarded != "wiki.test" {
				t.Fatalf("status %d path %q forwarded %q, want path %q", w.Code, gotPath, gotForwarded, tt.wantPath)
			}
			if tt.host != "" && gotHost != tt.host {
				t.Fatalf("Host %q, want %q", gotHost, tt.host)
			}
		})
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	h, err := New("/ws", "ws://127.0.0.1:1/ws", "", hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/ws", nil))
	if w.Code != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", w.Code)
	}
}

func TestNewRefusesBadUpstream(t *testing.T) {
	for _, u := range []string{"ftp://x/", "://bad"} {
		if _, err := New("/ws", u, "", hclog.NewNullLogger()); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func TestProxyKeepsTheFrontsForwardedHeaders(t *testing.T) {
	var got http.Header
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer upstream.Close()
	h, err := New("/ws", upstream.URL+"/ws", "", hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "wiki.example.org")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got.Get("X-Forwarded-Proto") != "https" || got.Get("X-Forwarded-Host") != "wiki.example.org" ||
		got.Get("X-Forwarded-For") != "203.0.113.7, 192.0.2.1" {
		t.Fatalf("forwarded headers %v", got)
	}
}

// recorder is an upstream that records the request target of every
// request it receives, exactly as it arrived on the wire.
type recorder struct {
	mu  sync.Mutex
	got []string
	srv *httptest.Server
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.got = append(rec.got, r.RequestURI)
		rec.mu.Unlock()
		_, _ = io.WriteString(w, "upstream")
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) take() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	got := rec.got
	rec.got = nil
	return got
}

// rawGet sends target as the request line's target, byte for byte, and
// returns the status.
func rawGet(t *testing.T, addr, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: wiki.test\r\nConnection: close\r\n\r\n", target); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// pathCases are request targets tried against a proxy serving
// /xmpp-websocket → <upstream>/ws and /http-bind → <upstream>/bosh, with
// the request target the upstream must see ("" for none) and the status.
var pathCases = []struct {
	name, target, upstream string
	status                 int
}{
	{"websocket path", "/xmpp-websocket", "/ws", 200},
	{"bosh path with a query", "/http-bind?rid=1&x=%2F", "/bosh?rid=1&x=%2F", 200},
	{"bosh with a slash", "/http-bind/", "/bosh/", 200},
	{"bosh subpath", "/http-bind/x", "/bosh/x", 200},
	{"a dot inside a name", "/http-bind/a.b", "/bosh/a.b", 200},
	{"encoded slash after dots", "/http-bind/..%2fadmin", "", 400},
	{"encoded slash, upper case", "/http-bind/..%2Fadmin", "", 400},
	{"two levels up", "/xmpp-websocket/..%2f..%2fapi/register", "", 400},
	{"encoded dots", "/http-bind/%2e%2e/admin", "", 400},
	{"encoded dots, upper case", "/http-bind/%2E%2E/admin", "", 400},
	{"half-encoded dots", "/http-bind/.%2e/admin", "", 400},
	{"encoded single dot", "/http-bind/%2e/x", "", 400},
	{"encoded slash alone", "/http-bind/a%2fb", "", 400},
	{"encoded slash beside a character Go re-encodes", "/http-bind/a{b}%2f", "", 400},
	{"encoded slash beside a quote", "/http-bind/a\"%2fadmin", "", 400},
	{"encoded backslash", "/http-bind/..%5cadmin", "", 400},
	{"backslash", `/http-bind/..\admin`, "", 400},
	{"double-encoded dots", "/http-bind/%252e%252e/admin", "", 400},
	{"double-encoded slash", "/http-bind/..%252fadmin", "", 400},
	{"path parameter", "/http-bind/..;/admin", "", 400},
	{"encoded NUL", "/http-bind/%00", "", 400},
	{"dots at the end", "/http-bind/..%2f", "", 400},
	// ServeMux cleans literal dot segments itself: it redirects to the
	// cleaned path on this server, and nothing goes upstream.
	{"literal dots", "/http-bind/../admin", "", 307},
	{"literal dot", "/http-bind/./x", "", 307},
	{"a neighbouring path", "/http-bindx", "", 404},
}

func TestProxyRefusesPathsOutsideTheUpstream(t *testing.T) {
	rec := newRecorder(t)
	var logged bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logged, Level: hclog.Info})
	mux := http.NewServeMux() // routed as serve routes them
	for _, p := range []struct{ path, upstream string }{
		{"/xmpp-websocket", "ws" + rec.srv.URL[4:] + "/ws"}, {"/http-bind", rec.srv.URL + "/bosh"},
	} {
		h, err := New(p.path, p.upstream, "", log)
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle(p.path, h)
		mux.Handle(p.path+"/", h)
	}
	front := httptest.NewServer(mux)
	defer front.Close()
	addr := strings.TrimPrefix(front.URL, "http://")
	refused := 0
	for _, tt := range pathCases {
		t.Run(tt.name, func(t *testing.T) {
			status := rawGet(t, addr, tt.target)
			got := rec.take()
			want := []string{}
			if tt.upstream != "" {
				want = []string{tt.upstream}
			}
			if status != tt.status || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("status %d, upstream saw %q; want %d and %q", status, got, tt.status, want)
			}
		})
		if tt.status == 400 {
			refused++
		}
	}
	if n := strings.Count(logged.String(), "proxy refused a request"); n != refused {
		t.Errorf("%d refusals logged, want %d:\n%s", n, refused, logged.String())
	}
}
