package config

import (
	"reflect"
	"testing"
)

// TestSecrets: each secret is listed once, with its own file or, when
// written in the config file, with that file's path.
func TestSecrets(t *testing.T) {
	c := validConfig() // wiki.dsn written in the file
	c.Token.SigningKeyFile = "/etc/livechat-auth/signing.pem"
	c.Session.Key, c.Session.KeyFile = "k", "/etc/livechat-auth/session.key" // read from its file
	c.Token.PreviousSecret = "p"
	c.Status.Secret = "s"
	want := []SecretFile{
		{"token.signing_key_file", "/etc/livechat-auth/signing.pem"},
		{"session.key_file", "/etc/livechat-auth/session.key"},
		{"wiki.dsn", "/etc/livechat-auth/config.yaml"},
		{"token.previous_secret", "/etc/livechat-auth/config.yaml"},
		{"status.secret", "/etc/livechat-auth/config.yaml"},
	}
	if got := c.Secrets("/etc/livechat-auth/config.yaml"); !reflect.DeepEqual(got, want) {
		t.Errorf("Secrets:\n got %v\nwant %v", got, want)
	}
	if got := c.Secrets(""); !reflect.DeepEqual(got, want[:2]) {
		t.Errorf("Secrets with no config file: %v; want the files only", got)
	}
}
