// Package webproxy forwards a chat server's WebSocket and BOSH endpoints
// under another server's paths, WebSocket upgrades included, so that a
// chat widget in a wiki page talks to its own origin (no cross-origin
// requests, one TLS certificate). It does not look inside the traffic.
package webproxy

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// New returns a handler forwarding requests under prefix to upstream
// (ws://, wss://, http:// or https://): prefix+"/x" goes to
// upstream.Path+"/x". host, when set, replaces the Host header sent
// upstream (Prosody picks its virtual host by it). The handler sets no
// timeouts: WebSocket and BOSH connections are long-lived.
func New(prefix, upstream, host string, log hclog.Logger) (http.Handler, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("proxy upstream: %w", err)
	}
	switch target.Scheme {
	case "ws":
		target.Scheme = "http"
	case "wss":
		target.Scheme = "https"
	case "http", "https":
	default:
		return nil, fmt.Errorf("proxy upstream %q: scheme must be ws, wss, http or https", upstream)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rest := strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.SetURL(target)
			pr.Out.URL.Path = target.Path + rest
			pr.Out.URL.RawPath = ""
			// serve sits behind the wiki's web server: keep what it said
			// about the browser (its address, https), so the chat server
			// sees the real client and a secure connection.
			if xff := pr.In.Header.Values("X-Forwarded-For"); len(xff) > 0 {
				pr.Out.Header["X-Forwarded-For"] = xff
			}
			pr.SetXForwarded()
			for _, h := range []string{"X-Forwarded-Proto", "X-Forwarded-Host"} {
				if v := pr.In.Header.Get(h); v != "" {
					pr.Out.Header.Set(h, v)
				}
			}
			if host != "" {
				pr.Out.Host = host
			}
		},
		ErrorLog: log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("chat server unreachable", "path", r.URL.Path, "error", err)
			http.Error(w, "chat server unreachable", http.StatusBadGateway)
		},
	}
	return rp, nil
}
