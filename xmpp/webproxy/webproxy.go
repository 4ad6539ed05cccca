// Package webproxy forwards a chat server's WebSocket and BOSH endpoints
// under another server's paths, WebSocket upgrades included, so that a
// chat widget in a wiki page talks to its own origin (no cross-origin
// requests, one TLS certificate). It does not look inside the traffic.
//
// The path is the one thing it does look at: a request whose path has a
// "." or ".." segment, an encoded slash or backslash, a percent sign
// left after decoding (double encoding), a ";" or a control character is
// refused with 400 and one log line, so no upstream, however it
// normalises paths, is asked for anything outside its own path.
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
// upstream.Path+"/x", and a path that could step outside upstream.Path
// is refused with 400 (see the package documentation). host, when set, replaces the Host header sent
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
			rest, _ := upstreamRest(pr.In.URL, prefix) // checked in ServeHTTP
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, why := upstreamRest(r.URL, prefix); why != "" {
			log.Info("proxy refused a request", "path", bounded(r.URL.EscapedPath()), "reason", why)
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		rp.ServeHTTP(w, r)
	}), nil
}

// upstreamRest returns what follows prefix in u's path, to be appended to
// the upstream's path, or why it may not be. It reads both the decoded
// path and the path as sent: "..%2f" is one segment as sent and a
// parent-directory step once decoded, and an upstream may read either.
func upstreamRest(u *url.URL, prefix string) (rest, why string) {
	// RawPath is the path as sent whenever it differs from the default
	// encoding of Path (EscapedPath would re-encode a path holding, say,
	// a brace, and lose its %2f).
	for _, raw := range []string{u.RawPath, u.EscapedPath()} {
		if raw := strings.ToLower(raw); strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
			return "", "encoded slash or backslash"
		}
	}
	p := u.Path
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			return "", "backslash"
		case c == '%':
			return "", "encoded twice"
		case c == ';':
			return "", "path parameter"
		case c < 0x20 || c == 0x7f:
			return "", "control character"
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return "", "dot segment"
		}
	}
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok || rest != "" && rest[0] != '/' {
		return "", "outside the proxied path"
	}
	return rest, ""
}

// bounded shortens a client-sent path for a log line. An escaped path
// holds no spaces or control characters.
func bounded(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
