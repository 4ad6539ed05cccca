package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealth(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	env := deadDBEnv(t)
	env["LIVECHAT_AUTH_SERVE_LISTEN"] = strings.TrimPrefix(srv.URL, "http://")

	if r := runWith(t, []string{"health"}, nil, env); r.code != exitOK || !strings.Contains(r.stdout, "/healthz") {
		t.Errorf("alive: %+v", r)
	}
	status = http.StatusServiceUnavailable
	if r := runWith(t, []string{"health"}, nil, env); r.code != exitUnhealthy || !strings.Contains(r.stderr, "503") {
		t.Errorf("503: %+v", r)
	}
	env["LIVECHAT_AUTH_SERVE_LISTEN"] = deadAddr(t)
	if r := runWith(t, []string{"health", "--timeout", "2s"}, nil, env); r.code != exitUnhealthy || strings.Contains(r.stderr, dsnPassword) {
		t.Errorf("nothing listening: %+v", r)
	}
	delete(env, "LIVECHAT_AUTH_DOMAINS")
	if r := runWith(t, []string{"health"}, nil, env); r.code != exitError {
		t.Errorf("invalid settings: %+v", r)
	}
}

func TestHealthURL(t *testing.T) {
	for listen, want := range map[string]string{
		"0.0.0.0:8484":      "http://127.0.0.1:8484/healthz",
		":8484":             "http://127.0.0.1:8484/healthz",
		"[::]:8484":         "http://127.0.0.1:8484/healthz",
		"127.0.0.1:9000":    "http://127.0.0.1:9000/healthz",
		"[::1]:9000":        "http://[::1]:9000/healthz",
		"serve.internal:80": "http://serve.internal:80/healthz",
	} {
		if got, err := healthURL(listen); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
	if _, err := healthURL("8484"); err == nil {
		t.Error("no port: no error")
	}
}
