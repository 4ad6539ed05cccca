package test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"livechat-auth/config"
)

// TestComposeFile checks the compose file and Dockerfile without a Docker
// engine: they parse, every build target exists, every file they copy or
// mount is in the repository, and the services' settings agree with each
// other. ./docker builds and runs them (TestDockerStack).
func TestComposeFile(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Build *struct {
				Context string `yaml:"context"`
				Target  string `yaml:"target"`
			} `yaml:"build"`
			Image   string   `yaml:"image"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	data, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, want := range []string{"mariadb", "livechat-auth", "ejabberd", "prosody"} {
		if _, ok := compose.Services[want]; !ok {
			t.Errorf("no %s service", want)
		}
	}
	targets, copies := dockerfile(t)
	for name, s := range compose.Services {
		if s.Build != nil && !targets[s.Build.Target] {
			t.Errorf("%s builds target %q, which the Dockerfile lacks", name, s.Build.Target)
		}
		if s.Build == nil && s.Image == "" {
			t.Errorf("%s has neither build nor image", name)
		}
		for _, v := range s.Volumes {
			host := strings.SplitN(v, ":", 2)[0]
			if _, err := os.Stat(filepath.Join("..", host)); err != nil {
				t.Errorf("%s mounts %s: %v", name, host, err)
			}
		}
	}
	for _, src := range copies {
		if _, err := os.Stat(filepath.Join("..", src)); err != nil {
			t.Errorf("Dockerfile copies %s: %v", src, err)
		}
	}

	// The settings the services share.
	cfg, err := config.Load("../deploy/compose/livechat-auth.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("deploy/compose/livechat-auth.yaml: %v", err)
	}
	prosody := readFile(t, "../deploy/compose/prosody.cfg.lua")
	if !strings.Contains(prosody, `livechat_auth_secret = "`+string(cfg.HTTPAuth.Secret)+`"`) {
		t.Error("Prosody's livechat_auth_secret differs from livechat-auth's httpauth.secret")
	}
	var ej map[string]any
	if err := yaml.Unmarshal([]byte(readFile(t, "../deploy/compose/ejabberd.yml")), &ej); err != nil {
		t.Fatalf("ejabberd.yml: %v", err)
	}
	if ej["auth_method"] != "external" || ej["auth_use_cache"] != false {
		t.Errorf("ejabberd.yml: auth_method %v, auth_use_cache %v", ej["auth_method"], ej["auth_use_cache"])
	}
	if reader := readFile(t, "../deploy/compose/reader.sql"); !strings.Contains(reader, "GRANT SELECT ON tiki.*") || strings.Contains(strings.ToUpper(reader), "GRANT ALL") {
		t.Error("the compose database user is not SELECT-only")
	}
}

// dockerfile returns the Dockerfile's stage names and the repository
// files its COPY lines read.
func dockerfile(t *testing.T) (targets map[string]bool, copies []string) {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	targets = map[string]bool{}
	stage := regexp.MustCompile(`(?i)^FROM\s+\S+\s+AS\s+(\S+)`)
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if m := stage.FindStringSubmatch(line); m != nil {
			targets[m[1]] = true
		}
		fields := strings.Fields(line)
		if len(fields) >= 3 && strings.EqualFold(fields[0], "COPY") && !strings.HasPrefix(fields[1], "--from") {
			for _, src := range fields[1 : len(fields)-1] {
				if src != "." {
					copies = append(copies, src)
				}
			}
		}
	}
	return targets, copies
}

// TestSystemdUnit: the unit passes systemd-analyze verify (with the
// program at the path it names), runs as the static user its install
// steps make, and gives the relay socket a runtime folder.
func TestSystemdUnit(t *testing.T) {
	unit := readFile(t, "../deploy/systemd/livechat-auth.service")
	for _, want := range []string{"ExecStart=/usr/local/bin/livechat-auth serve", "ExecReload=/bin/kill -HUP $MAINPID",
		"User=livechat-auth", "Group=livechat-auth", "RuntimeDirectory=livechat-auth", "adduser --system --group --no-create-home livechat-auth", "[Install]"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	if strings.Contains(unit, "DynamicUser=yes") {
		t.Error("DynamicUser: its group does not exist for the install steps to give files to")
	}
	need(t, "systemd-analyze", have("/usr/bin/systemd-analyze"), "apt-get install systemd")
	dir := t.TempDir()
	path := filepath.Join(dir, "livechat-auth.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/livechat-auth", binPath)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "livechat-auth.service:") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
