package test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestVCardFollowsTheWiki: with session.vcard_api_url, a granted session
// sets the user's vCard FN and NICKNAME on ejabberd to the wiki display
// name, through ejabberd's API.
func TestVCardFollowsTheWiki(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	dir := t.TempDir()
	cfgPath, _ := writeConfig(t, dir, w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, API: true})
	api := fmt.Sprintf("http://127.0.0.1:%d/api", ej.HTTPPort)
	writeConfig(t, dir, w.ReaderDSN, []string{host}, fmt.Sprintf("token:\n  signing_key_file: %q\nsession:\n  key: %q\n  vcard_api_url: %q\n",
		keygen(t, "ES256"), migrationKey, api))
	srv := startServe(t, cfgPath)
	vcard := func(field string) string {
		resp, err := http.Post(api+"/get_vcard", "application/json", strings.NewReader(fmt.Sprintf(`{"user":"alice","host":%q,"name":%q}`, host, field)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := vcard("FN"); strings.Contains(got, "Alice Liddell") {
		t.Fatalf("the vCard is set before any session: %s", got)
	}
	status, answer := postSigned(t, srv.URL+"/v1/sessions", []byte(`{"login":"alice","nonce":"v1"}`))
	if status != 200 {
		t.Fatalf("session: %d %v", status, answer)
	}
	if !eventually(t, 5*time.Second, func() bool {
		return strings.Contains(vcard("FN"), "Alice Liddell") && strings.Contains(vcard("NICKNAME"), "Alice Liddell")
	}) {
		t.Errorf("the vCard does not follow the wiki: FN %s, NICKNAME %s", vcard("FN"), vcard("NICKNAME"))
	}
}
