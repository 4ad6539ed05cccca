package test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livechat-auth/xmpp/extauth"
)

// readmeBlock returns the lines of the first code block of the production
// guide (docs/operations.md, which README links) in the language lang that
// holds marker, without the indent of its fence.
func readmeBlock(t *testing.T, lang, marker string) []string {
	t.Helper()
	return docBlock(t, "../docs/operations.md", lang, marker)
}

// docBlock returns the lines of the first code block of the Markdown file
// at path in the language lang that holds marker, without the indent of
// its fence.
func docBlock(t testing.TB, path, lang, marker string) []string {
	t.Helper()
	var block []string
	in, indent := false, ""
	for _, line := range strings.Split(readFile(t, path), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "```"+lang:
			in, block = true, nil
			indent = line[:strings.Index(line, "```")]
		case in && trimmed == "```":
			if strings.Contains(strings.Join(block, "\n"), marker) {
				return block
			}
			in = false
		case in:
			block = append(block, strings.TrimPrefix(line, indent))
		}
	}
	t.Fatalf("%s has no %s block holding %q", path, lang, marker)
	return nil
}

// TestReadmeInstallBlock runs the install block of README's "Running
// serve in production" in a folder of its own, read from README so that
// the two cannot drift apart, with README's extauth.yaml: user daemon
// stands for livechat-auth, nobody for ejabberd, and nobody's group for
// the group livechat-auth that ejabberd joins. The doctor line of the
// block then finds every step sound and serve's secrets out of the chat
// server's reach.
func TestReadmeInstallBlock(t *testing.T) {
	need(t, "root", os.Geteuid() == 0, "run as root to install files for other users")
	_, err := user.Lookup("daemon")
	need(t, "user daemon", err == nil, "a system without a user daemon: adduser --system daemon")
	nobody, err := user.Lookup("nobody")
	need(t, "user nobody", err == nil, "a system without a user nobody: adduser --system nobody")
	group, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		t.Fatal(err)
	}
	w := newWiki(t)
	root, err := os.MkdirTemp("", "livechat-auth-install-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "livechat-auth")
	data, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(root, "etc")
	local := strings.NewReplacer("/etc/livechat-auth", etc, "/usr/local/bin/livechat-auth", bin,
		"livechat-auth keygen", bin+" keygen", "livechat-auth doctor", bin+" doctor",
		"chown livechat-auth", "chown daemon", "-o livechat-auth", "-o daemon", "-g livechat-auth", "-g "+group.Name,
		"--as ejabberd", "--as nobody")

	// The files the block installs from the current folder.
	src := t.TempDir()
	extauth := strings.NewReplacer("chat.example.org", "chat.test", "reader:pw@tcp(127.0.0.1:3306)/tiki", w.ReaderDSN,
		"/run/livechat-auth/extauth.sock", "off", // no serve runs here: decide in each process
	).Replace(local.Replace(strings.Join(readmeBlock(t, "yaml", "# extauth.yaml:"), "\n")))
	if !strings.Contains(extauth, w.ReaderDSN) || !strings.Contains(extauth, etc+"/signing.pub.pem") {
		t.Fatalf("README's extauth.yaml changed shape; this test fills in its DSN and key path:\n%s", extauth)
	}
	serve := fmt.Sprintf("domains: [chat.test]\nwiki:\n  dsn: %q\ntoken:\n  signing_key_file: %s/signing.pem\nsession:\n  key_file: %s/session.key\n",
		w.ReaderDSN, etc, etc)
	for name, body := range map[string]string{"extauth.yaml": extauth, "config.yaml": serve} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	var script, doctor []string
	for _, line := range readmeBlock(t, "sh", "--serve-config") {
		switch {
		case strings.HasPrefix(line, "adduser "), strings.HasPrefix(line, "systemctl "),
			strings.HasPrefix(line, "install -m 0755 livechat-auth /usr/local/bin/"),
			strings.HasPrefix(line, "install -m 0644 deploy/systemd/"):
			// users, the program's place and systemd are the machine's
		case strings.HasPrefix(line, "livechat-auth doctor "):
			doctor = strings.Fields(strings.TrimPrefix(local.Replace(line), bin+" doctor "))
		default:
			script = append(script, local.Replace(line))
		}
	}
	if len(doctor) == 0 {
		t.Fatal("README's install block has no livechat-auth doctor line")
	}
	cmd := exec.Command("/bin/sh", "-ex", "-c", strings.Join(script, "\n"))
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README's install block: %v\n%s", err, out)
	}
	out, code := runDoctor(t, bin, doctor...)
	wantLines(t, out,
		"as nobody",
		"OK   config "+etc+"/extauth.yaml readable and valid",
		"OK   token keys load\n",
		"OK   extauth framing: isuser alice@chat.test answered yes",
		"OK   serve's secrets are out of nobody's reach: token.signing_key_file, session.key_file",
	)
	if strings.Contains(out, "FAIL") || code > 1 {
		t.Errorf("exit %d after README's install block:\n%s", code, out)
	}
}

// TestSystemdUnitInstallSteps: the install steps in the unit's comment
// are README's, in README's order.
func TestSystemdUnitInstallSteps(t *testing.T) {
	var readme []string
	for _, line := range readmeBlock(t, "sh", "--serve-config") {
		cmd, _, _ := strings.Cut(line, " #")
		readme = append(readme, strings.TrimSpace(cmd))
	}
	at := 0
	for _, line := range strings.Split(readFile(t, "../deploy/systemd/livechat-auth.service"), "\n") {
		step, ok := strings.CutPrefix(line, "#   ")
		if !ok {
			continue
		}
		for at < len(readme) && readme[at] != step {
			at++
		}
		if at == len(readme) {
			t.Errorf("the unit's install step %q is not in README's block, or not in its order", step)
			return
		}
	}
	if at == 0 {
		t.Error("the unit's comment has no install steps (lines \"#   …\")")
	}
}

// TestExtauthOwnConfig: ejabberd's extauth with a config of its own, as
// README's extauth.yaml (the public key and serve's socket; no private
// key, no session key), relays to serve, which alone reads the private
// key: a token serve's key signed signs in once; with serve stopped, the
// extauth process decides passwords alone and refuses tokens.
func TestExtauthOwnConfig(t *testing.T) {
	w := newWiki(t)
	dir := t.TempDir()
	socket := filepath.Join(dir, "extauth.sock")
	priv, pub := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "signing.pub.pem")
	if out, err := exec.Command(binPath, "keygen", "--alg", "EdDSA", "--out", priv, "--public-out", pub).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	serveCfg, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  signing_key_file: %q\nsession:\n  key: %q\nextauth:\n  daemon_socket: %q\n", priv, strings.Repeat("k", 32), socket))
	chatCfg, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  public_key_files: [%q]\nextauth:\n  daemon_socket: %q\n", pub, socket))
	port := freePort(t)
	srv := startServeOn(t, serveCfg, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port))
	if !eventually(t, 5*time.Second, func() bool { return socketAnswers(socket) }) {
		t.Fatal("serve's extauth socket does not answer")
	}
	a := startExtauthProgram(t, binPath, "LIVECHAT_AUTH_CONFIG="+chatCfg)

	req := extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: mintToken(t, serveCfg, "alice")}
	if !a.ask(t, req) {
		t.Fatal("the token was refused")
	}
	if a.ask(t, req) {
		t.Error("the same token signed in twice")
	}
	srv.stop(t)
	bob := extauth.Request{Command: "auth", User: "bob", Server: "chat.test", Password: "bob-pw-12"}
	if !a.ask(t, bob) {
		t.Error("no password decided by the chat server's config alone while serve is down")
	}
	req.Password = mintToken(t, serveCfg, "alice")
	if a.ask(t, req) {
		t.Error("a token signed in while serve is down")
	}
	if !strings.Contains(a.log(t), "reason="+extauth.ReasonTokenUnshared) {
		t.Error("the token refusal was not logged with reason=token-unshared")
	}
	a.finish(t)
}
