package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestServeProxyRefusesPathsOutsideTheUpstream: serve's same-origin proxy
// forwards the WebSocket and BOSH paths to a chat server (here one that
// records each request target as it arrives) and never anything with a
// dot segment, an encoded slash or backslash, or a second encoding.
func TestServeProxyRefusesPathsOutsideTheUpstream(t *testing.T) {
	var mu sync.Mutex
	var got []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.RequestURI)
		mu.Unlock()
		_, _ = io.WriteString(w, "upstream")
	}))
	defer upstream.Close()
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		g := got
		got = nil
		return g
	}

	w := newWiki(t)
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"}, fmt.Sprintf(
		"proxy:\n  websocket_upstream: %q\n  bosh_upstream: %q\n", "ws"+upstream.URL[4:]+"/ws", upstream.URL+"/bosh"))
	srv := startServe(t, cfgPath)
	addr := strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name, target, upstream string
		status                 int
	}{
		{"websocket path", "/xmpp-websocket", "/ws", 200},
		{"bosh path with a query", "/http-bind?rid=7&sid=a%2Fb", "/bosh?rid=7&sid=a%2Fb", 200},
		{"bosh subpath", "/http-bind/x", "/bosh/x", 200},
		{"encoded slash after dots", "/http-bind/..%2fadmin", "", 400},
		{"two levels up", "/xmpp-websocket/..%2f..%2fapi/register", "", 400},
		{"encoded dots", "/http-bind/%2e%2e/admin", "", 400},
		{"half-encoded dots", "/http-bind/.%2e/admin", "", 400},
		{"encoded slash, upper case", "/http-bind/a%2Fb", "", 400},
		{"backslash", `/http-bind/..\admin`, "", 400},
		{"encoded backslash", "/http-bind/..%5Cadmin", "", 400},
		{"double-encoded dots", "/http-bind/%252e%252e/admin", "", 400},
		{"path parameter", "/xmpp-websocket/..;/admin", "", 400},
		{"literal dots (cleaned by serve, not forwarded)", "/http-bind/../admin", "", 307},
	}
	refused := 0
	for _, tt := range tests {
		status := serveRawGet(t, addr, tt.target)
		seen := take()
		want := []string{}
		if tt.upstream != "" {
			want = []string{tt.upstream}
		}
		if status != tt.status || fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("%s: status %d, upstream saw %q; want %d and %q", tt.name, status, seen, tt.status, want)
		}
		if tt.status == 400 {
			refused++
		}
	}
	if n := len(logLines(t, logPath, "proxy refused a request", "reason=")); n != refused {
		t.Errorf("%d refusals logged, want %d", n, refused)
	}
}

// serveRawGet sends target as the request line's target, byte for byte
// (a Go client would re-encode it), and returns the status.
func serveRawGet(t *testing.T, addr, target string) int {
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
