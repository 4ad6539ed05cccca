package extauth

import "strings"

// ControlSocket is extauthd.ControlSocket, kept here until its last
// caller (cmd/livechat-auth's locks test) names package extauthd.
func ControlSocket(relaySocket string) string {
	return strings.TrimSuffix(relaySocket, ".sock") + ".control.sock"
}
