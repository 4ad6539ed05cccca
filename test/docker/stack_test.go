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

// The test stack runs with host networking on loopback ports that this
// machine's own services do not hold (3306, 5432, 6379, 5672, 4222, 4369
// and 1883 are taken), below the ephemeral range so that no outgoing
// connection borrows one.
const (
	project      = "livechat-auth-test" // compose project: names its containers and network
	imagePrefix  = "livechat-auth-test/"
	domain       = "chat.example.test"
	dbPort       = 17306
	servePort    = 17484
	ejabberdPort = 17222
	ejabberdHTTP = 17280
	ejabberdDist = 17210 // Erlang distribution, with no epmd
	prosodyPort  = 17223

	readerDSN = "livechat_reader:demo-reader-pw@tcp(127.0.0.1:17306)/tiki" // deploy/compose/reader.sql's user
)

var repo = filepath.Join("..", "..")

// need is the harness rule: skip locally, fail under CI.
var need = harness.Need

// TestDockerStack builds every stage of the Dockerfile, starts
// docker-compose.yml (with a test override: host networking on the ports
// above, the images just built), signs in through the containerised
// ejabberd and Prosody with a real XMPP client, checks serve's health
// check and metrics, then stops the stack and checks that nothing it made
// is left.
func TestDockerStack(t *testing.T) {
	need(t, "root", os.Geteuid() == 0, "the test installs and starts a Docker engine: run it as root")
	_, err := exec.LookPath("apt-get")
	need(t, "apt-get", err == nil, "a Debian machine")

	goImage := setUp(t)
	lockStack(t)
	for _, p := range []int{dbPort, servePort, ejabberdPort, ejabberdHTTP, ejabberdDist, prosodyPort} {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err != nil {
			t.Fatalf("port %d, which the test stack uses, is held by another program: %v", p, err)
		} else {
			l.Close()
		}
	}

	services := composeServices(t)
	builds := buildAll(t, goImage)
	checkServeImage(t, imagePrefix+services["livechat-auth"])

	dir := writeStack(t, services)
	compose := func(ctx context.Context, args ...string) (string, error) {
		all := append([]string{"-p", project, "--project-directory", repo, "-f", filepath.Join(dir, "stack.yml")}, args...)
		return run(ctx, "docker-compose", all...)
	}
	down := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := compose(ctx, "down", "--volumes", "--remove-orphans", "--timeout", "10"); err != nil {
			t.Errorf("docker-compose down: %v\n%s", err, out)
		}
	}
	down() // whatever a killed earlier run left
	t.Cleanup(func() {
		if t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, _ := compose(ctx, "logs", "--no-color", "--tail", "60")
			cancel()
			t.Logf("stack logs:\n%s", out)
		}
		down()
		checkNothingLeft(t)
	})

	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// up -d waits for the health checks depends_on names (the database,
	// then serve) and fails if one turns unhealthy.
	if out, err := compose(ctx, "up", "-d", "--no-build"); err != nil {
		t.Fatalf("docker-compose up: %v\n%s", err, out)
	}
	listening, cancelListening := context.WithTimeout(ctx, 90*time.Second)
	defer cancelListening()
	waitListening(listening, t, compose, "ejabberd", ejabberdPort)
	waitListening(listening, t, compose, "prosody", prosodyPort)
	serveID := containerOf(ctx, t, compose, "livechat-auth")
	if status := inspect(t, serveID, "{{.State.Health.Status}}"); status != "healthy" {
		t.Errorf("serve's container is %s, not healthy", status)
	}
	t.Logf("stack up in %s", time.Since(started).Round(100*time.Millisecond))

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
	for service, want := range map[string][]string{
		"ejabberd":      {"extauth-daemon: accepted", "extauth-daemon: refused", "reason=bad-password", "reason=token-replayed"},
		"livechat-auth": {"httpauth: accepted", "reason=bad-password"},
	} {
		out, err := run(ctx, "docker", "logs", containerOf(ctx, t, compose, service))
		if err != nil {
			t.Fatalf("docker logs %s: %v", service, err)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("docker logs %s lacks %q:\n%s", service, w, tail(out, 3000))
			}
		}
		if strings.Contains(out, "alice-pw-1") || strings.Contains(out, "alice-pw-2") {
			t.Errorf("docker logs %s holds a password", service)
		}
	}

	// Both chat servers started and ran cleanly: no error in their logs
	// (a Prosody that cannot write its pidfile still listens, half shut
	// down).
	for service, bad := range map[string]*regexp.Regexp{
		"ejabberd": regexp.MustCompile(`\[(error|critical|alert|emergency)\]`),
		"prosody":  regexp.MustCompile(`\t(error|warn)\t`),
	} {
		out, err := run(ctx, "docker", "logs", containerOf(ctx, t, compose, service))
		if err != nil {
			t.Fatalf("docker logs %s: %v", service, err)
		}
		for _, line := range strings.Split(out, "\n") {
			if bad.MatchString(line) {
				t.Errorf("%s logged: %s", service, line)
			}
		}
	}

	var sizes []string
	for _, svc := range sortedKeys(services) {
		size, _ := strconv.ParseInt(inspect(t, imagePrefix+services[svc], "{{.Size}}"), 10, 64)
		sizes = append(sizes, fmt.Sprintf("%s %.1f MB", services[svc], float64(size)/1e6))
	}
	t.Logf("images: %s; built in %s (%s)", strings.Join(sizes, ", "), builds.total.Round(time.Second), builds.each)
}

// setUp runs scripts/docker-setup.sh (the engine, the base images) and
// returns the Go toolchain image it made.
func setUp(t *testing.T) string {
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
	t.Logf("Docker engine and base images ready in %s (Go image %s)", time.Since(started).Round(100*time.Millisecond), image)
	return image
}

// lockStack waits (boundedly) until no other run of this test holds the
// stack's ports and image names.
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

// composeServices reads docker-compose.yml: each service's build target.
func composeServices(t *testing.T) map[string]string {
	t.Helper()
	var compose struct {
		Services map[string]struct {
			Build struct {
				Target string `yaml:"target"`
			} `yaml:"build"`
		} `yaml:"services"`
	}
	data, err := os.ReadFile(filepath.Join(repo, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	out := map[string]string{}
	for name, s := range compose.Services {
		if s.Build.Target == "" {
			t.Fatalf("docker-compose.yml: service %s builds no Dockerfile target: the test stack needs no registry", name)
		}
		out[name] = s.Build.Target
	}
	for _, want := range []string{"mariadb", "livechat-auth", "ejabberd", "prosody"} {
		if out[want] == "" {
			t.Fatalf("docker-compose.yml has no %s service", want)
		}
	}
	return out
}

type buildTimes struct {
	total time.Duration
	each  string
}

// buildAll builds every stage of the Dockerfile, each tagged
// livechat-auth-test/STAGE so that the next run finds its layers, then
// removes the images earlier runs left untagged.
func buildAll(t *testing.T, goImage string) buildTimes {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var times buildTimes
	var each []string
	for _, m := range regexp.MustCompile(`(?im)^FROM\s+\S+\s+AS\s+(\S+)\s*$`).FindAllStringSubmatch(string(data), -1) {
		stage := m[1]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		started := time.Now()
		out, err := run(ctx, "docker", "build", "--force-rm", "--network", "host", "--build-arg", "GO_IMAGE="+goImage,
			"--target", stage, "-t", imagePrefix+stage+":latest", repo)
		cancel()
		if err != nil {
			t.Fatalf("docker build --target %s: %v\n%s", stage, err, tail(out, 4000))
		}
		d := time.Since(started)
		times.total += d
		each = append(each, fmt.Sprintf("%s %s", stage, d.Round(100*time.Millisecond)))
	}
	times.each = strings.Join(each, ", ")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := run(ctx, "docker", "image", "prune", "--force"); err != nil {
		t.Errorf("docker image prune: %v\n%s", err, out)
	}
	return times
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

// writeStack writes the test's compose file and the chat servers' settings
// it mounts, made from docker-compose.yml and deploy/compose's files with
// the test's addresses, and returns their folder.
func writeStack(t *testing.T, services map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // the containers' users read the files
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// ejabberd: its listeners on loopback and the test's ports.
	var ej map[string]any
	if err := yaml.Unmarshal([]byte(readFile(t, "deploy/compose/ejabberd.yml")), &ej); err != nil {
		t.Fatalf("ejabberd.yml: %v", err)
	}
	listen, _ := ej["listen"].([]any)
	ports := map[int]int{5222: ejabberdPort, 5280: ejabberdHTTP}
	for _, l := range listen {
		l := l.(map[string]any)
		port, _ := l["port"].(int)
		if ports[port] == 0 {
			t.Fatalf("ejabberd.yml listens on %v, which the test does not map", l["port"])
		}
		l["port"], l["ip"] = ports[port], "127.0.0.1"
		delete(ports, port)
	}
	if len(ports) != 0 {
		t.Fatalf("ejabberd.yml lacks listeners on %v", ports)
	}
	out, err := yaml.Marshal(ej)
	if err != nil {
		t.Fatal(err)
	}
	write("ejabberd.yml", string(out))

	// Prosody: serve's address, and its listeners on loopback.
	pc := readFile(t, "deploy/compose/prosody.cfg.lua")
	const url = `livechat_auth_url = "http://livechat-auth:8484/auth"`
	if !strings.Contains(pc, url) || !strings.Contains(pc, "\nVirtualHost ") {
		t.Fatalf("prosody.cfg.lua has no %s or no VirtualHost", url)
	}
	pc = strings.Replace(pc, url, fmt.Sprintf(`livechat_auth_url = "http://127.0.0.1:%d/auth"`, servePort), 1)
	pc = strings.Replace(pc, "\nVirtualHost ", fmt.Sprintf(`
interfaces = { "127.0.0.1" }
c2s_ports = { %d }
c2s_direct_tls_ports = { }
s2s_ports = { }
http_ports = { }
https_ports = { }
VirtualHost `, prosodyPort), 1)
	write("prosody.cfg.lua", pc)

	// The stack: docker-compose.yml with the images just built, host
	// networking instead of published ports, and the test's addresses.
	var stack map[string]any
	if err := yaml.Unmarshal([]byte(readFile(t, "docker-compose.yml")), &stack); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	svcs, _ := stack["services"].(map[string]any)
	settings := map[string]map[string]any{
		"mariadb": {"command": []string{"mariadbd", "--bind-address=127.0.0.1", fmt.Sprintf("--port=%d", dbPort)}},
		"livechat-auth": {"environment": map[string]any{
			"LIVECHAT_AUTH_SERVE_LISTEN": fmt.Sprintf("127.0.0.1:%d", servePort),
			"LIVECHAT_AUTH_WIKI_DSN":     readerDSN,
		}},
		"ejabberd": {
			"environment": map[string]any{
				"LIVECHAT_AUTH_WIKI_DSN": readerDSN,
				"ERL_DIST_PORT":          strconv.Itoa(ejabberdDist),
				"ERL_OPTIONS":            "-kernel inet_dist_use_interface {127,0,0,1}",
			},
			"volumes": []string{filepath.Join(dir, "ejabberd.yml") + ":/etc/ejabberd/ejabberd.yml:ro"},
		},
		"prosody": {"volumes": []string{filepath.Join(dir, "prosody.cfg.lua") + ":/etc/prosody/prosody.cfg.lua:ro"}},
	}
	for name, target := range services {
		svc, _ := svcs[name].(map[string]any)
		delete(svc, "ports")
		svc["network_mode"] = "host"
		svc["image"] = imagePrefix + target + ":latest"
		for key, value := range settings[name] {
			switch value := value.(type) {
			case map[string]any: // added to the service's environment
				env, ok := svc[key].(map[string]any)
				if svc[key] != nil && !ok {
					t.Fatalf("docker-compose.yml: %s's %s is not a mapping", name, key)
				}
				if env == nil {
					env = map[string]any{}
				}
				for k, v := range value {
					env[k] = v
				}
				svc[key] = env
			case []string:
				if key == "volumes" { // added to the service's mounts
					old, _ := svc[key].([]any)
					for _, v := range old {
						value = append(value, v.(string))
					}
				}
				svc[key] = value
			}
		}
	}
	out, err = yaml.Marshal(stack)
	if err != nil {
		t.Fatal(err)
	}
	write("stack.yml", "# docker-compose.yml as the test runs it: the images it built, host networking on loopback.\n"+string(out))
	return dir
}

// waitListening waits until something accepts connections on port,
// failing at once if the service's container stops.
func waitListening(ctx context.Context, t *testing.T, compose func(context.Context, ...string) (string, error), service string, port int) {
	t.Helper()
	id := containerOf(ctx, t, compose, service)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if state := inspect(t, id, "{{.State.Status}} {{.State.ExitCode}}"); !strings.HasPrefix(state, "running") {
			t.Fatalf("%s's container stopped (%s) before listening on %d", service, state, port)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nothing listens on %d (%s): %v", port, service, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// containerOf returns the id of a service's container.
func containerOf(ctx context.Context, t *testing.T, compose func(context.Context, ...string) (string, error), service string) string {
	t.Helper()
	out, err := compose(ctx, "ps", "-q", service)
	id := strings.TrimSpace(out)
	if err != nil || id == "" || strings.Contains(id, "\n") {
		t.Fatalf("docker-compose ps -q %s: %v %q", service, err, out)
	}
	return id
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
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0") // the engine's own builder: Debian's docker.io has no buildx
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
