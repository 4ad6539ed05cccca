package webproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
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
