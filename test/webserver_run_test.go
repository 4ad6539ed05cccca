package test

// Running Debian's nginx, Apache and php-fpm as root, each in a folder of
// its own, with the configuration blocks of README and docs/tiki.md.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The placeholders of README's web-server blocks and of docs/tiki.md's
// php-fpm pool: the only text these tests replace, each with what this
// host uses instead. fillPlaceholders fails when one is missing, so a
// block that changes its placeholders cannot pass untested.
const (
	placeholderServe       = "127.0.0.1:8484"         // livechat-auth serve's serve.listen
	placeholderDocroot     = "/var/www/tiki"          // the wiki's root folder
	placeholderSocket      = "/run/php/tiki-fpm.sock" // the wiki's php-fpm pool
	placeholderSessionKey  = "PASTE-SESSION-KEY-HERE" // the content of session.key_file
	placeholderPoolUser    = "user = tiki"            // the pool's own user (webserver_pool_test.go's poolUser)
	placeholderPoolGroup   = "group = tiki"           // and group
	placeholderNginxListen = "listen 80;"             // nginx's port
	placeholderApacheHost  = "<VirtualHost *:80>"     // Apache's port
)

// fillPlaceholders replaces each placeholder in block with its value.
func fillPlaceholders(t testing.TB, what, block string, values map[string]string) string {
	t.Helper()
	var pairs []string
	for placeholder, value := range values {
		if !strings.Contains(block, placeholder) {
			t.Fatalf("%s no longer holds the placeholder %q:\n%s", what, placeholder, block)
		}
		pairs = append(pairs, placeholder, value)
	}
	return strings.NewReplacer(pairs...).Replace(block)
}

// startPHPFPM runs php-fpm with docs/tiki.md's pool, its placeholders
// filled in, under a generated global section of its own. The pool's
// user tiki is nobody here (see poolUser), which owns the wiki's temp/
// folder, as tiki would; the rest of the wiki is root's and readable by
// all, as docs/tiki.md says.
func startPHPFPM(t *testing.T, bin string, st *chatStack) {
	t.Helper()
	pool := fillPlaceholders(t, "docs/tiki.md's pool", strings.Join(docBlock(t, "../docs/tiki.md", "ini", "env[LIVECHAT_AUTH_SESSION_KEY]"), "\n"), map[string]string{
		placeholderSocket:     st.socket,
		placeholderServe:      strings.TrimPrefix(st.serve.URL, "http://"),
		placeholderSessionKey: st.sessionKey,
		placeholderDocroot:    st.docroot,
		placeholderPoolUser:   "user = " + poolUser,
		placeholderPoolGroup:  "group = " + poolGroup,
	})
	uid, gid := lookupIDs(t, poolUser)
	temp := filepath.Join(st.docroot, "temp")
	if err := os.Mkdir(temp, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(temp, uid, gid); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(st.web, "php-fpm")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "php-fpm.conf")
	global := fmt.Sprintf("[global]\npid = %s/php-fpm.pid\nerror_log = %s/php-fpm.log\ndaemonize = no\n\n", dir, dir)
	if err := os.WriteFile(conf, []byte(global+pool+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The key comes from the pool file only.
	cmd := stack.Command(t, []string{"PATH=/usr/sbin:/usr/bin:/bin"}, bin, "--nodaemonize", "--fpm-config", conf)
	startDaemon(t, cmd, "php-fpm", filepath.Join(dir, "php-fpm.log"), func() bool {
		c, err := net.Dial("unix", st.socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

const nginxMain = `daemon off;
user www-data;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 128; }
http {
    include /etc/nginx/mime.types;
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/site.conf;
}
`

// startNginx runs nginx with a generated main config that includes
// README's nginx block, listening on a plain port and on a TLS port with
// the stack's certificate (the TLS README says to add), and returns the
// front.
func startNginx(t *testing.T, st *chatStack) front {
	t.Helper()
	port, tlsPort := freePort(t), freePort(t)
	listen := fmt.Sprintf("listen 127.0.0.1:%d;\n    listen 127.0.0.1:%d ssl;\n    ssl_certificate %s;\n    ssl_certificate_key %s;",
		port, tlsPort, st.tlsCert, st.tlsKey)
	site := fillPlaceholders(t, "README's nginx block", strings.Join(docBlock(t, "../README.md", "nginx", "location = /xmpp-websocket"), "\n"), map[string]string{
		placeholderNginxListen: listen,
		placeholderDocroot:     st.docroot,
		placeholderSocket:      st.socket,
		placeholderServe:       strings.TrimPrefix(st.serve.URL, "http://"),
	})
	dir := frontDir(t, st, "nginx")
	writeFiles(t, dir, map[string]string{"nginx.conf": fmt.Sprintf(nginxMain, dir), "site.conf": site})
	// "include fastcgi_params" is relative to the main config's folder,
	// as /etc/nginx is for a packaged nginx.
	if err := os.Symlink("/etc/nginx/fastcgi_params", filepath.Join(dir, "fastcgi_params")); err != nil {
		t.Fatal(err)
	}
	cmd := stack.Command(t, nil, "/usr/sbin/nginx", "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	startDaemon(t, cmd, "nginx", filepath.Join(dir, "error.log"), portsOpen(port, tlsPort))
	return newFront(st, "nginx", port, tlsPort)
}

// apacheMain loads what Debian's apache2 enables by default that the
// block uses, what "a2enmod proxy_http proxy_fcgi headers" adds, and
// mod_ssl for the TLS port (a2enmod ssl).
const apacheMain = `ServerRoot "%[1]s"
DefaultRuntimeDir "%[1]s"
PidFile "%[1]s/apache2.pid"
ErrorLog "%[1]s/error.log"
LogLevel info
ServerName 127.0.0.1
Listen 127.0.0.1:%[2]d
Listen 127.0.0.1:%[3]d
User www-data
Group www-data
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule proxy_fcgi_module /usr/lib/apache2/modules/mod_proxy_fcgi.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
TypesConfig /etc/mime.types
CustomLog "%[1]s/access.log" common
Include "%[1]s/site.conf"
Include "%[1]s/site-tls.conf"
`

// startApache runs Apache with a generated main config that includes
// README's Apache block twice: on a plain port, and on a TLS port with
// the stack's certificate (the TLS README says to add). It returns the
// front.
func startApache(t *testing.T, st *chatStack) front {
	t.Helper()
	port, tlsPort := freePort(t), freePort(t)
	block := strings.Join(docBlock(t, "../README.md", "apache", "ProxyPassMatch \"^/xmpp-websocket$\""), "\n")
	site := func(host string) string {
		return fillPlaceholders(t, "README's Apache block", block, map[string]string{
			placeholderApacheHost: host,
			placeholderDocroot:    st.docroot,
			placeholderSocket:     st.socket,
			placeholderServe:      strings.TrimPrefix(st.serve.URL, "http://"),
		})
	}
	dir := frontDir(t, st, "apache")
	writeFiles(t, dir, map[string]string{
		"apache2.conf": fmt.Sprintf(apacheMain, dir, port, tlsPort),
		"site.conf":    site(fmt.Sprintf("<VirtualHost *:%d>", port)),
		"site-tls.conf": site(fmt.Sprintf("<VirtualHost *:%d>\n    SSLEngine on\n    SSLCertificateFile %s\n    SSLCertificateKeyFile %s",
			tlsPort, st.tlsCert, st.tlsKey)),
	})
	cmd := stack.Command(t, nil, "/usr/sbin/apache2", "-f", filepath.Join(dir, "apache2.conf"), "-DFOREGROUND")
	startDaemon(t, cmd, "apache2", filepath.Join(dir, "error.log"), portsOpen(port, tlsPort))
	return newFront(st, "apache", port, tlsPort)
}

// frontDir makes a web server's own folder beside the docroot.
func frontDir(t *testing.T, st *chatStack, name string) string {
	t.Helper()
	dir := filepath.Join(st.web, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// portsOpen reports whether every one of the loopback ports accepts.
func portsOpen(ports ...int) func() bool {
	return func() bool {
		for _, port := range ports {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
			if err != nil {
				return false
			}
			c.Close()
		}
		return true
	}
}

// startDaemon starts a server whose master process forks workers, in a
// process group of its own, waits until ready reports true, and at the
// end stops the whole group (SIGTERM, then SIGKILL), so that no worker
// outlives the test. Its log is shown when the test fails.
func startDaemon(t *testing.T, cmd *exec.Cmd, what, logPath string, ready func() bool) {
	t.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // reported through exited
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // gone already is fine
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // workers left behind, if any
		<-exited
		if t.Failed() {
			log, _ := os.ReadFile(logPath) // absent when it never started
			t.Logf("%s output:\n%s\n%s log:\n%s", what, out.String(), what, log)
		}
	})
	for deadline := time.Now().Add(15 * time.Second); !ready(); {
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath) // absent when it never started
			t.Fatalf("%s exited at start:\n%s\n%s", what, out.String(), log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 15s", what)
		}
	}
}
