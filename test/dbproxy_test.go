package test

import (
	"database/sql"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// dbProxy forwards TCP connections to MariaDB. It counts the commands
// clients send (MySQL packets with sequence number 0) and can be stopped
// and started again on the same port, to play a database outage.
type dbProxy struct {
	target   string
	addr     string
	commands atomic.Int64

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func startDBProxy(t testing.TB, target string) *dbProxy {
	t.Helper()
	p := &dbProxy{target: target, conns: make(map[net.Conn]bool)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Stop)
	return p
}

// DSN returns dsn pointed at the proxy.
func (p *dbProxy) DSN(t testing.TB, dsn string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Net, cfg.Addr = "tcp", p.addr
	return cfg.FormatDSN()
}

// Commands is the number of commands forwarded so far.
func (p *dbProxy) Commands() int64 { return p.commands.Load() }

// Stop closes the listener and every connection: the database is gone.
func (p *dbProxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = make(map[net.Conn]bool)
}

// Start listens again on the same address and forwards.
func (p *dbProxy) Start(t testing.TB) {
	t.Helper()
	p.Stop()
	p.serve(p.listenAgain(t))
}

func (p *dbProxy) listenAgain(t testing.TB) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after Stop
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// Hang plays a database that accepts connections and never answers: open
// connections are cut, and new ones are held silent.
func (p *dbProxy) Hang(t testing.TB) {
	t.Helper()
	p.Stop()
	ln := p.listenAgain(t)
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.track(c, c) {
				return
			}
		}
	}()
}

func (p *dbProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				client.Close()
				continue
			}
			if !p.track(client, server) {
				return
			}
			go func() { p.countCommands(io.TeeReader(client, server)); client.Close(); server.Close() }()
			go func() { _, _ = io.Copy(client, server); client.Close(); server.Close() }() // ends when either side closes
		}
	}()
}

// track records a connection pair, unless the proxy was stopped meanwhile.
func (p *dbProxy) track(client, server net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		client.Close()
		server.Close()
		return false
	}
	p.conns[client], p.conns[server] = true, true
	return true
}

// countCommands reads the client's packets (3-byte length, 1-byte
// sequence number, payload) as they are forwarded, counting those that
// start a command.
func (p *dbProxy) countCommands(r io.Reader) {
	var head [4]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return
		}
		n := int64(binary.LittleEndian.Uint32(append(head[:3:3], 0)))
		if head[3] == 0 {
			p.commands.Add(1)
		}
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			return
		}
	}
}

func openRaw(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
