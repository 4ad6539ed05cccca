package config

import (
	"errors"
	"net"
)

// Status is serve's operator page, on a listener of its own, never
// serve.listen. status.secret guards the automatic daemon's page and
// metrics too (extauth.listen).
type Status struct {
	// status.listen, LIVECHAT_AUTH_STATUS_LISTEN: address of the status
	// page, e.g. 127.0.0.1:8485. Empty (the default): no page. An address
	// other than loopback needs status.secret.
	Listen string `yaml:"listen"`
	// status.secret, LIVECHAT_AUTH_STATUS_SECRET: the password of HTTP
	// basic authentication every view and button needs (any user name),
	// on status.listen and extauth.listen (its /metrics too); at least 16
	// bytes. Optional on loopback.
	Secret Secret `yaml:"secret"`
	// status.secret_file, LIVECHAT_AUTH_STATUS_SECRET_FILE: read it from a file.
	SecretFile string `yaml:"secret_file"`
}

func (c *Config) validateStatus() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	s := c.Status
	if s.Listen == "" {
		if s.Secret != "" && c.Extauth.Listen == "" {
			bad(fromFile("status.secret", "status.secret_file", s.SecretFile), "set without status.listen or extauth.listen")
		} else if s.Secret != "" && len(s.Secret) < 16 {
			bad(fromFile("status.secret", "status.secret_file", s.SecretFile), "shorter than 16 bytes")
		}
		return errs
	}
	host, _, err := net.SplitHostPort(s.Listen)
	if err != nil {
		bad("status.listen", "\""+s.Listen+"\" is not host:port, e.g. 127.0.0.1:8485")
		return errs
	}
	if sameListener(s.Listen, c.Serve.Listen) {
		bad("status.listen", "must differ from serve.listen: the status page never shares the listener the wiki's web server reaches")
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	switch {
	case s.Secret == "" && !loopback:
		bad("status.listen", "\""+s.Listen+"\" is not a loopback address: set status.secret (or status.secret_file) too")
	case s.Secret != "" && len(s.Secret) < 16:
		bad(fromFile("status.secret", "status.secret_file", s.SecretFile), "shorter than 16 bytes")
	}
	return errs
}

// sameListener reports whether two listen addresses would take one port:
// the same port, on the same host, a wildcard, or two loopback names.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb {
		return a == b
	}
	loop := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "localhost" || (ip != nil && ip.IsLoopback())
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb) || (loop(ha) && loop(hb))
}
