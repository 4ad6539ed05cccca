package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneVersionEverywhere: a build without VCS stamping (this run's
// binary is built with GOFLAGS=-buildvcs=false in CI, as the container
// image is) says the release of app/VERSION in every place that shows a
// version: "version", serve's start line, build_info, the status page's
// snapshot and doctor's first line.
func TestOneVersionEverywhere(t *testing.T) {
	data, err := os.ReadFile("../app/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	release := strings.TrimSpace(string(data))
	bin := filepath.Join(t.TempDir(), "livechat-auth")
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "../cmd/livechat-auth").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "livechat-auth "+release+" ") {
		t.Errorf("version: %q, %v; want the release %s", out, err, release)
	}

	w := newWiki(t)
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"}, "")
	port, statusPort := freePort(t), freePort(t)
	saved := binPath
	binPath = bin // startServeOn runs binPath
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), fmt.Sprintf("LIVECHAT_AUTH_STATUS_LISTEN=127.0.0.1:%d", statusPort))
	binPath = saved
	if len(logLines(t, logPath, "serving", "version="+release)) != 1 {
		t.Errorf("serve's start line does not name version %s:\n%v", release, logLines(t, logPath, "serving"))
	}
	if _, metrics := get(t, srv.URL+"/metrics"); !strings.Contains(metrics, `livechat_auth_build_info{goversion=`) || !strings.Contains(metrics, `version="`+release+`"`) {
		t.Errorf("build_info does not say version %s", release)
	}
	if _, page := get(t, fmt.Sprintf("http://127.0.0.1:%d/", statusPort)); !strings.Contains(page, "version "+release) {
		t.Errorf("the status page does not say version %s: %.300s", release, page)
	}
	doc, _ := exec.Command(bin, "doctor", "--config", cfgPath).Output() // its verdict is not the point
	if !strings.HasPrefix(string(doc), "livechat-auth "+release+" doctor") {
		t.Errorf("doctor's first line: %.100q; want version %s", doc, release)
	}
}
