package main

import (
	"context"
	"fmt"
	"io"
	"livechat-auth/config"
	"net"
	"net/http"
	"time"
)

// exitUnhealthy is health's answer when serve does not say it is alive;
// container engines read 1 as unhealthy.
const exitUnhealthy = 1

// runHealth asks the serve running with the same settings whether it is
// alive: GET /healthz at serve.listen, where an unspecified host is
// reached on loopback. It is the container image's HEALTHCHECK, which has
// no HTTP client of its own.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flags("health", stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "health", err)
	}
	url, err := healthURL(cfg.Serve.Listen)
	if err != nil {
		return fail(stderr, "health", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fail(stderr, "health", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "livechat-auth health: %s\n", config.OneLine(err))
		return exitUnhealthy
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10)) // only the status matters
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "livechat-auth health: %s answered %s\n", url, resp.Status)
		return exitUnhealthy
	}
	fmt.Fprintf(stdout, "healthy: %s\n", url)
	return exitOK
}

// healthURL is the /healthz address of a serve listening on listen.
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("serve.listen: %w", err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
