package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// front is a web server running README's block: on a plain port, and on
// a TLS port with the stack's certificate.
type front struct {
	name   string
	url    string       // http://127.0.0.1:port
	tlsURL string       // https://127.0.0.1:port
	tls    *http.Client // trusts the stack's certificate
}

func newFront(st *chatStack, name string, port, tlsPort int) front {
	return front{
		name:   name,
		url:    fmt.Sprintf("http://127.0.0.1:%d", port),
		tlsURL: fmt.Sprintf("https://127.0.0.1:%d", tlsPort),
		tls:    st.tlsClient,
	}
}

// writeCertificate makes a self-signed certificate for 127.0.0.1 in dir,
// readable by root only (the web servers read it before they drop to
// www-data), and returns its files and a client that trusts it.
func writeCertificate(t *testing.T, dir string) (certFile, keyFile string, client *http.Client) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "front.crt"), filepath.Join(dir, "front.key")
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	return certFile, keyFile, client
}

// probeHeader marks a request that chatUpstream answers itself.
const probeHeader = "X-Livechat-Probe"

// chatUpstream stands between serve's proxy and the chat server, so that
// a test sees what serve sends upstream: it passes every request on,
// WebSocket upgrades included, except those carrying probeHeader, whose
// X-Forwarded-Proto values it keeps under the probe's value and which it
// answers itself with 204.
type chatUpstream struct {
	addr string // host:port

	mu    sync.Mutex
	proto map[string][]string
}

func startChatUpstream(t *testing.T, chatServer string) *chatUpstream {
	t.Helper()
	target, err := url.Parse(chatServer)
	if err != nil {
		t.Fatal(err)
	}
	u := &chatUpstream{proto: map[string][]string{}}
	relay := &httputil.ReverseProxy{
		Rewrite:  func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		ErrorLog: log.New(os.Stderr, "chat upstream relay: ", 0),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probe := r.Header.Get(probeHeader)
		if probe == "" {
			relay.ServeHTTP(w, r)
			return
		}
		u.mu.Lock()
		u.proto[probe] = r.Header.Values("X-Forwarded-Proto")
		u.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	u.addr = srv.Listener.Addr().String()
	return u
}

// forwardedProto returns the X-Forwarded-Proto values the probe arrived
// with, and whether it arrived.
func (u *chatUpstream) forwardedProto(probe string) ([]string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	v, ok := u.proto[probe]
	return v, ok
}

// checkForwardedProto: through each chat path, the chat server learns
// from X-Forwarded-Proto, set by the front and passed on by serve's
// proxy, which scheme the browser used: https through the TLS port, http
// through the plain one even when the browser says https itself.
func checkForwardedProto(t *testing.T, st *chatStack, fr front) {
	plain := &http.Client{Timeout: 30 * time.Second}
	for _, path := range []string{"/xmpp-websocket", "/http-bind"} {
		for _, c := range []struct {
			name, url, claim, want string
			client                 *http.Client
		}{
			{"plain, the browser claiming https", fr.url + path, "https", "http", plain},
			{"TLS", fr.tlsURL + path, "", "https", fr.tls},
		} {
			t.Run(path+" "+c.name, func(t *testing.T) {
				probe := randomHex(t, 8)
				req, err := http.NewRequest(http.MethodGet, c.url, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set(probeHeader, probe)
				if c.claim != "" {
					req.Header.Set("X-Forwarded-Proto", c.claim)
				}
				resp, err := c.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				got, arrived := st.upstream.forwardedProto(probe)
				if resp.StatusCode != http.StatusNoContent || !arrived {
					t.Fatalf("GET %s: %d, reached the chat server: %v", c.url, resp.StatusCode, arrived)
				}
				if len(got) != 1 || got[0] != c.want {
					t.Errorf("the chat server got X-Forwarded-Proto %q, want %q", got, c.want)
				}
			})
		}
	}
}
