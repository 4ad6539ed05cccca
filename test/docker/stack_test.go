package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"livechat-auth/provider/session"
	"livechat-auth/test/harness"
)

// The test stack publishes its ports on loopback ports that this
// machine's own services do not hold, below the ephemeral range so that
// no outgoing connection borrows one; README's compose lines take them
// from these variables (the defaults are 5222, 5280, 5223 and 8484).
const (
	project      = "livechat-auth-test" // compose project: names its containers, network and images
	domain       = "chat.example.test"
	servePort    = 17484
	ejabberdPort = 17222
	ejabberdHTTP = 17280
	prosodyPort  = 17223
)

// stackEnv is what the environment README's lines run with adds: the
// published ports, and a project name of the test's own, so that a stack
// started by hand from the same folder is left alone.
var stackEnv = map[string]string{
	"COMPOSE_PROJECT_NAME":        project,
	"LIVECHAT_SERVE_PORT":         strconv.Itoa(servePort),
	"LIVECHAT_EJABBERD_PORT":      strconv.Itoa(ejabberdPort),
	"LIVECHAT_EJABBERD_HTTP_PORT": strconv.Itoa(ejabberdHTTP),
	"LIVECHAT_PROSODY_PORT":       strconv.Itoa(prosodyPort),
}

var repo = filepath.Join("..", "..")

// need is the harness rule: skip locally, fail under CI.
var need = harness.Need

// TestDockerStack runs README's docker compose lines as they are written,
// from the repository's top folder with the default compose file, the
// environment adding only stackEnv: up (which builds every stage of the
// Dockerfile with Compose v2), the lines between, and down. With the stack
// up it signs in through the containerised ejabberd and Prosody with a
// real XMPP client, checks serve's image, health check, metrics and logs
// and the chat servers' logs, follows the advice serve and ejabberd's
// extauth log about their config files' modes and signs in again, then
// checks that down leaves nothing of the project.
func TestDockerStack(t *testing.T) {
	need(t, "root", os.Geteuid() == 0, "the test installs and starts a Docker engine: run it as root")
	_, err := exec.LookPath("apt-get")
	need(t, "apt-get", err == nil, "a Debian machine")

	setUp(t)
	lockStack(t)
	for _, p := range []int{servePort, ejabberdPort, ejabberdHTTP, prosodyPort} {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err != nil {
			t.Fatalf("port %d, which the test stack uses, is held by another program: %v", p, err)
		} else {
			l.Close()
		}
	}
	lines := readmeLines(t)
	up, between, down := lines[0], lines[1:len(lines)-1], lines[len(lines)-1]
	t.Logf("README's lines: %q", lines)

	runDown := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := shell(ctx, down); err != nil {
			t.Errorf("%s: %v\n%s", down, err, out)
		}
	}
	runDown() // whatever a killed earlier run left
	t.Cleanup(func() {
		if t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, _ := compose(ctx, "logs", "--no-color", "--tail", "60")
			cancel()
			t.Logf("stack logs:\n%s", out)
		}
		runDown()
		checkNothingLeft(t)
	})

	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	building, cancelBuilding := context.WithTimeout(ctx, 15*time.Minute)
	out, err := shell(building, up)
	cancelBuilding()
	if err != nil {
		t.Fatalf("%s: %v\n%s", up, err, tail(out, 6000))
	}
	upTook := time.Since(started)
	listening, cancelListening := context.WithTimeout(ctx, 90*time.Second)
	defer cancelListening()
	waitListening(listening, t, "ejabberd", ejabberdPort)
	waitListening(listening, t, "prosody", prosodyPort)
	serveID := containerOf(ctx, t, "livechat-auth")
	if status := inspect(t, serveID, "{{.State.Health.Status}}"); status != "healthy" {
		t.Errorf("serve's container is %s, not healthy", status)
	}
	t.Logf("stack built and up in %s (%s), listening after %s", upTook.Round(100*time.Millisecond), up, time.Since(started).Round(100*time.Millisecond))
	checkServeImage(t, inspect(t, serveID, "{{.Image}}"))

	base := fmt.Sprintf("http://127.0.0.1:%d", servePort)
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	for _, server := range []struct {
		name string
		port int
	}{{"ejabberd", ejabberdPort}, {"Prosody", prosodyPort}} {
		addr := fmt.Sprintf("127.0.0.1:%d", server.port)
		if err := signIn(addr, "alice@"+domain, "alice-pw-1"); err != nil {
			t.Errorf("%s: alice with her password: %v", server.name, err)
		}
		if err := signIn(addr, "alice@"+domain, "alice-pw-2"); !isRefusal(err) {
			t.Errorf("%s: alice with a wrong password: %v, want a SASL refusal", server.name, err)
		}
		token := sessionToken(t, base, "alice")
		if err := signIn(addr, "alice@"+domain, token); err != nil {
			t.Errorf("%s: alice with the session API's token: %v", server.name, err)
		}
		if err := signIn(addr, "alice@"+domain, token); !isRefusal(err) {
			t.Errorf("%s: the same token again: %v, want a SASL refusal", server.name, err)
		}
	}

	// Prosody asked serve over HTTP: two right passwords (one a token), a
	// wrong one and a used token; both tokens came from the session API.
	metrics := series(t, base)
	for name, want := range map[string]float64{
		`livechat_auth_decisions_total{cmd="check_password",edge="httpauth",result="accepted"}`:     2,
		`livechat_auth_decisions_total{cmd="check_password",edge="httpauth",result="bad-password"}`: 1,
		`livechat_auth_decisions_total{cmd="session",edge="session",result="accepted"}`:             2,
	} {
		if got := metrics[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	var replayed float64
	for name, v := range metrics {
		if strings.HasPrefix(name, `livechat_auth_decisions_total{cmd="check_password",edge="httpauth",`) &&
			!strings.Contains(name, `"accepted"`) && !strings.Contains(name, `"bad-password"`) {
			replayed += v
		}
	}
	if replayed != 1 {
		t.Errorf("Prosody's refused decisions besides bad-password: %v, want 1 (the used token)", replayed)
	}

	// Each decision reaches the container log an operator reads: the
	// automatic daemon's in ejabberd's (copied to its extauth processes'
	// stderr), serve's for Prosody's requests in its own.
	decisions := map[string][]string{
		"ejabberd":      {"extauth-daemon: accepted", "extauth-daemon: refused", "reason=bad-password", "reason=token-replayed"},
		"livechat-auth": {"httpauth: accepted", "reason=bad-password"},
	}
	for service, want := range decisions {
		out := logs(ctx, t, service, "")
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("docker logs %s lacks %q:\n%s", service, w, tail(out, 3000))
			}
		}
		if strings.Contains(out, "alice-pw-1") || strings.Contains(out, "alice-pw-2") {
			t.Errorf("docker logs %s holds a password", service)
		}
	}

	// README's lines between up and down run, and a logs line shows the
	// decisions of its service.
	for _, line := range between {
		out, err := shell(ctx, line)
		if err != nil {
			t.Errorf("%s: %v\n%s", line, err, tail(out, 3000))
			continue
		}
		if fields := strings.Fields(line); len(fields) >= 4 && fields[2] == "logs" {
			for _, w := range decisions[fields[3]] {
				if !strings.Contains(out, w) {
					t.Errorf("%s lacks %q:\n%s", line, w, tail(out, 3000))
				}
			}
		}
	}

	checkChatServerLogs(ctx, t)
	followModeAdvice(ctx, t)

	var sizes []string
	for _, svc := range []string{"mariadb", "livechat-auth", "ejabberd", "prosody"} {
		size, _ := strconv.ParseInt(inspect(t, inspect(t, containerOf(ctx, t, svc), "{{.Image}}"), "{{.Size}}"), 10, 64)
		sizes = append(sizes, fmt.Sprintf("%s %.1f MB", svc, float64(size)/1e6))
	}
	t.Logf("images: %s", strings.Join(sizes, ", "))
	if out, err := run(ctx, "docker", "image", "prune", "--force"); err != nil { // the images earlier builds left untagged
		t.Errorf("docker image prune: %v\n%s", err, out)
	}
}

// readmeLines returns README.md's docker compose lines, each as written,
// from its sh blocks: the first must bring the stack up and the last take
// it down.
func readmeLines(t *testing.T) []string {
	t.Helper()
	var lines []string
	inSh := false
	for _, line := range strings.Split(readFile(t, "README.md"), "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inSh = !inSh && strings.TrimPrefix(line, "```") == "sh"
		case inSh && strings.HasPrefix(line, "docker compose "):
			lines = append(lines, line)
		}
	}
	if len(lines) < 2 || strings.Fields(lines[0])[2] != "up" || strings.Fields(lines[len(lines)-1])[2] != "down" {
		t.Fatalf("README.md's docker compose lines are %q: want an up line first and a down line last", lines)
	}
	return lines
}

// shell runs one of README's lines with sh, as a reader pastes it, from
// the repository's top folder, in this process's environment with
// stackEnv and without any other COMPOSE_ variable (so the default
// compose file is read).
func shell(ctx context.Context, line string) (string, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = repo
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ours := stackEnv[name]; !ours && !strings.HasPrefix(name, "COMPOSE_") && name != "DOCKER_BUILDKIT" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for _, name := range sortedKeys(stackEnv) {
		cmd.Env = append(cmd.Env, name+"="+stackEnv[name])
	}
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", err, ctx.Err())
	}
	return string(out), err
}

// compose runs docker compose with args as shell runs README's lines: the
// test's own questions to the stack README's lines started.
func compose(ctx context.Context, args ...string) (string, error) {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return shell(ctx, "docker compose "+strings.Join(quoted, " "))
}

// setUp runs scripts/docker-setup.sh (the engine, Compose v2, the base
// images) and checks that docker compose is Compose v2.
func setUp(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, "scripts", "docker-setup.sh"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	started := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("scripts/docker-setup.sh: %v\n%s", err, tail(stderr.String(), 4000))
	}
	image := strings.TrimSpace(stdout.String())
	if strings.ContainsAny(image, " \n") || image == "" {
		t.Fatalf("scripts/docker-setup.sh printed %q, not one image name", image)
	}
	version, err := run(ctx, "docker", "compose", "version", "--short")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(version), "2.") {
		t.Fatalf("docker compose version: %v %q, want Compose v2", err, version)
	}
	t.Logf("Docker engine, Compose %s and base images ready in %s (Go image %s)", strings.TrimSpace(version), time.Since(started).Round(100*time.Millisecond), image)
}

// lockStack waits (boundedly) until no other run of this test holds the
// stack's ports and project.
func lockStack(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/var/cache/livechat-auth/stack.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			t.Fatal("another run of the Docker test held /var/cache/livechat-auth/stack.lock for 10 minutes")
		}
		time.Sleep(time.Second)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// checkChatServerLogs fails on any error or warning ejabberd or Prosody
// logged (a Prosody that cannot write its pidfile still listens, half
// shut down), but the ones expected: ejabberd's for the sign-ins the test
// meant to fail, and ejabberd 24.12's about CAPTCHA, which it logs at
// every start without captcha_cmd, whatever its modules.
func checkChatServerLogs(ctx context.Context, t *testing.T) {
	t.Helper()
	expected := regexp.MustCompile(`\[warning\] (The option captcha_cmd is not configured, but some module wants to use the CAPTCHA feature\.|\(tcp\|<[0-9.]+>\) Failed c2s PLAIN authentication for alice@` + regexp.QuoteMeta(domain) + ` from \S+: Invalid username or password)$`)
	for service, bad := range map[string]*regexp.Regexp{
		"ejabberd": regexp.MustCompile(`\[(warning|error|critical|alert|emergency)\]`),
		"prosody":  regexp.MustCompile(`\t(error|warn)\t`),
	} {
		for _, line := range strings.Split(logs(ctx, t, service, ""), "\n") {
			if bad.MatchString(line) && !expected.MatchString(line) {
				t.Errorf("%s logged: %s", service, line)
			}
		}
	}
}

// followModeAdvice does what serve and ejabberd's extauth advise about
// the modes of the config files mounted in their containers, to the files
// on this machine they are mounted from, restarts both, and checks that
// the advice is gone from their logs and that both still sign alice in.
// A checkout makes the files readable by every user, and each container's
// user reads them only as one of every user: chmod o= alone would lock
// it out, so the advice must give the file its group. The files' group
// and mode are restored afterwards.
func followModeAdvice(ctx context.Context, t *testing.T) {
	t.Helper()
	advice := regexp.MustCompile(`: (\S+) is readable by every user \(mode \d+\) and uid (\d+) reads it only as one of them: (.*)$`)
	const readOnly = ", on the file mounted there (a read-only mount here)"
	services := map[string]string{"livechat-auth": "/etc/livechat-auth/config.yaml", "ejabberd": "/etc/livechat-auth/extauth.yaml"}
	for _, service := range sortedKeys(services) {
		target := services[service]
		id := containerOf(ctx, t, service)
		source := inspect(t, id, `{{range .Mounts}}{{if eq .Destination "`+target+`"}}{{.Source}}{{end}}{{end}}`)
		fi, err := os.Stat(source)
		if err != nil {
			t.Fatalf("%s's %s, mounted from %q: %v", service, target, source, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		mode, gid := fi.Mode().Perm(), int(st.Gid)
		t.Cleanup(func() {
			if err := errors.Join(os.Chown(source, -1, gid), os.Chmod(source, mode)); err != nil {
				t.Errorf("restoring %s: %v", source, err)
			}
		})
		var fixes []string
		for _, line := range strings.Split(logs(ctx, t, service, ""), "\n") {
			if m := advice.FindStringSubmatch(line); m != nil && m[1] == target {
				fixes = append(fixes, m[3])
			} else if strings.Contains(line, "is readable by every user") {
				t.Errorf("%s advises what would lock it out of its own file: %s", service, line)
			}
		}
		if mode&0o004 == 0 {
			if len(fixes) != 0 {
				t.Errorf("%s advises %q about %s, mode %04o", service, fixes, source, mode)
			}
			continue
		}
		if len(fixes) == 0 {
			t.Errorf("%s gives no advice about %s (mode %04o), which every user may read", service, target, mode)
			continue
		}
		fix, ok := strings.CutSuffix(fixes[0], readOnly)
		if !ok || !strings.HasPrefix(fix, "chgrp ") {
			t.Errorf("%s advises %q: want a chgrp, to the file mounted at %s", service, fixes[0], target)
			continue
		}
		hostFix := strings.ReplaceAll(fix, target, source)
		if out, err := exec.CommandContext(ctx, "sh", "-c", hostFix).CombinedOutput(); err != nil {
			t.Fatalf("%s's advice, on this machine (%s): %v\n%s", service, hostFix, err, out)
		}
		t.Logf("%s advised %q; ran %s", service, fixes[0], hostFix)
	}
	if t.Failed() {
		return
	}

	restarted := time.Now()
	if out, err := compose(ctx, "restart", "livechat-auth", "ejabberd"); err != nil {
		t.Fatalf("docker compose restart: %v\n%s", err, out)
	}
	listening, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	waitListening(listening, t, "ejabberd", ejabberdPort)
	waitHealthy(listening, t, "livechat-auth")
	since := restarted.Add(-time.Second).UTC().Format(time.RFC3339)
	for service, started := range map[string]string{"livechat-auth": "livechat-auth.serve: serving", "ejabberd": "livechat-auth.extauth: serving"} {
		out := logs(ctx, t, service, since)
		if !strings.Contains(out, started) {
			t.Errorf("%s after the restart lacks %q:\n%s", service, started, tail(out, 3000))
		}
		if strings.Contains(out, "is readable by every user") {
			t.Errorf("%s still advises after its advice was followed:\n%s", service, tail(out, 3000))
		}
	}
	for _, server := range []struct {
		name string
		port int
	}{{"ejabberd", ejabberdPort}, {"Prosody", prosodyPort}} {
		if err := signIn(fmt.Sprintf("127.0.0.1:%d", server.port), "alice@"+domain, "alice-pw-1"); err != nil {
			t.Errorf("%s, after the advice was followed: alice with her password: %v", server.name, err)
		}
	}
	t.Logf("restarted with the advice followed in %s", time.Since(restarted).Round(100*time.Millisecond))
}

// checkServeImage checks that livechat-auth's image holds the static
// binary and the CA certificates and nothing else, runs as a user other
// than root, and has a health check.
func checkServeImage(t *testing.T, image string) {
	t.Helper()
	if user := inspect(t, image, "{{.Config.User}}"); user == "" || user == "0" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0:") {
		t.Errorf("%s runs as %q", image, user)
	}
	if hc := inspect(t, image, "{{json .Config.Healthcheck}}"); !strings.Contains(hc, "livechat-auth") || !strings.Contains(hc, "health") {
		t.Errorf("%s health check: %s", image, hc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "save", image)
	saved, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker save %s: %v", image, err)
	}
	files := map[string][]byte{}
	outer := tar.NewReader(bytes.NewReader(saved))
	for {
		h, err := outer.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("docker save %s: %v", image, err)
		}
		if !strings.HasSuffix(h.Name, "layer.tar") {
			continue
		}
		layer := tar.NewReader(outer)
		for {
			lh, err := layer.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s layer %s: %v", image, h.Name, err)
			}
			if lh.Typeflag != tar.TypeDir {
				body, err := io.ReadAll(layer)
				if err != nil {
					t.Fatal(err)
				}
				files[lh.Name] = body
			}
		}
	}
	names := sortedKeys(files)
	if want := []string{"etc/ssl/certs/ca-certificates.crt", "usr/local/bin/livechat-auth"}; !slices.Equal(names, want) {
		t.Errorf("%s holds %v, want %v", image, names, want)
	}
	if n := bytes.Count(files["etc/ssl/certs/ca-certificates.crt"], []byte("BEGIN CERTIFICATE")); n < 50 {
		t.Errorf("%s: %d CA certificates", image, n)
	}
	bin, err := elf.NewFile(bytes.NewReader(files["usr/local/bin/livechat-auth"]))
	if err != nil {
		t.Fatalf("%s: the binary: %v", image, err)
	}
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: the binary is dynamically linked", image)
		}
	}
}

// waitListening waits until the chat server on port opens an XMPP stream,
// failing at once if the service's container stops. A connection alone
// proves nothing: Docker's proxy holds a published port and accepts
// connections before anything in the container listens.
func waitListening(ctx context.Context, t *testing.T, service string, port int) {
	t.Helper()
	id := containerOf(ctx, t, service)
	for {
		err := streamOpens(fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			return
		}
		if state := inspect(t, id, "{{.State.Status}} {{.State.ExitCode}}"); !strings.HasPrefix(state, "running") {
			t.Fatalf("%s's container stopped (%s) before listening on %d", service, state, port)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no XMPP stream on %d (%s): %v", port, service, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// streamOpens opens an XMPP client stream to addr and reads the server's
// stream header.
func streamOpens(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, `<?xml version='1.0'?><stream:stream to='`+domain+`' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`); err != nil {
		return err
	}
	buf := make([]byte, 512)
	n, err := io.ReadAtLeast(c, buf, len("<stream:stream"))
	if err != nil {
		return err
	}
	if !strings.Contains(string(buf[:n]), "stream") {
		return fmt.Errorf("answered %q, not a stream header", buf[:n])
	}
	return nil
}

// containerOf returns the id of a service's container.
func containerOf(ctx context.Context, t *testing.T, service string) string {
	t.Helper()
	out, err := compose(ctx, "ps", "-q", service)
	id := strings.TrimSpace(out)
	if err != nil || id == "" || strings.Contains(id, "\n") {
		t.Fatalf("docker compose ps -q %s: %v %q", service, err, out)
	}
	return id
}

// waitHealthy waits until the health check of a service's container
// passes, failing at once if it stops.
func waitHealthy(ctx context.Context, t *testing.T, service string) {
	t.Helper()
	id := containerOf(ctx, t, service)
	for {
		state := inspect(t, id, "{{.State.Status}} {{.State.Health.Status}}")
		switch {
		case state == "running healthy":
			return
		case !strings.HasPrefix(state, "running"):
			t.Fatalf("%s's container stopped (%s)", service, state)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s's container is not healthy (%s): %v", service, state, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// logs returns what a service's container logged (since a time, when
// since is not ""), stdout and stderr.
func logs(ctx context.Context, t *testing.T, service, since string) string {
	t.Helper()
	args := []string{"logs"}
	if since != "" {
		args = append(args, "--since", since)
	}
	out, err := run(ctx, "docker", append(args, containerOf(ctx, t, service))...)
	if err != nil {
		t.Fatalf("docker logs %s: %v\n%s", service, err, tail(out, 2000))
	}
	return out
}

// checkNothingLeft fails if a container or network of the test project
// is still there.
func checkNothingLeft(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	label := "label=com.docker.compose.project=" + project
	for _, args := range [][]string{
		{"ps", "--all", "--quiet", "--filter", label},
		{"network", "ls", "--quiet", "--filter", label},
		{"volume", "ls", "--quiet", "--filter", label},
	} {
		out, err := run(ctx, "docker", args...)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("docker %s after the test: %v %q", strings.Join(args, " "), err, out)
		}
	}
}

// inspect returns a docker inspect field of a container or image.
func inspect(t *testing.T, object, format string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := run(ctx, "docker", "inspect", "--format", format, object)
	if err != nil {
		t.Fatalf("docker inspect %s: %v\n%s", object, err, out)
	}
	return strings.TrimSpace(out)
}

// run runs a command and returns its combined output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", err, ctx.Err())
	}
	return string(out), err
}

func signIn(addr, address, password string) error {
	return harness.SignIn(context.Background(), 15*time.Second, addr, address, password)
}

var isRefusal = harness.IsRefusal

// sessionToken asks the session API for login's token, as the wiki does.
func sessionToken(t *testing.T, base, login string) string {
	t.Helper()
	body := fmt.Sprintf(`{"login":%q,"nonce":%q}`, login, strconv.FormatInt(time.Now().UnixNano(), 36))
	req, err := http.NewRequest(http.MethodPost, base+"/v1/sessions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	key := []byte(sessionKey(t))
	req.Header.Set(session.HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(session.HeaderSignature, session.Sign(key, now, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		JID   string `json:"jid"`
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.JID != login+"@"+domain || out.Token == "" {
		t.Fatalf("session for %s: %d %v %+v", login, resp.StatusCode, err, out.JID)
	}
	return out.Token
}

// sessionKey is deploy/compose/livechat-auth.yaml's session.key.
func sessionKey(t *testing.T) string {
	t.Helper()
	var cfg struct {
		Session struct {
			Key string `yaml:"key"`
		} `yaml:"session"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "deploy/compose/livechat-auth.yaml")), &cfg); err != nil || cfg.Session.Key == "" {
		t.Fatalf("deploy/compose/livechat-auth.yaml: no session.key (%v)", err)
	}
	return cfg.Session.Key
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// series reads serve's /metrics: every series' value by its name and
// labels as the text format writes them.
func series(t *testing.T, base string) map[string]float64 {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	return harness.Series(t, body)
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
