package test

// A FastCGI client just big enough to ask a php-fpm pool for one script,
// as a web server does, with parameters of the test's choosing, and a
// dialer that connects to a Unix socket as another user.
//
//	client                                     php-fpm
//	  BEGIN_REQUEST (role responder) ------------>
//	  PARAMS (name-value pairs) ----------------->
//	  PARAMS (empty: no more) ------------------->
//	  STDIN (empty: no body) -------------------->
//	                    <-------------- STDOUT … (headers, then the page)
//	                    <-------------- STDERR … (PHP's messages)
//	                    <-------------- END_REQUEST

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// FastCGI record types (FastCGI 1.0, section 8).
const (
	fcgiBeginRequest = 1
	fcgiEndRequest   = 3
	fcgiParams       = 4
	fcgiStdin        = 5
	fcgiStdout       = 6
	fcgiStderr       = 7
)

// fastCGIRequest sends one request with params over conn, which it
// closes, and returns what the application wrote to STDOUT and STDERR
// until END_REQUEST.
func fastCGIRequest(conn net.Conn, params map[string]string) (stdout, stderr string, err error) {
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return "", "", err
	}
	var pairs bytes.Buffer
	for name, value := range params {
		for _, n := range []int{len(name), len(value)} {
			if n < 128 {
				pairs.WriteByte(byte(n))
			} else {
				_ = binary.Write(&pairs, binary.BigEndian, uint32(n)|1<<31) // a bytes.Buffer takes every write
			}
		}
		pairs.WriteString(name + value)
	}
	w := bufio.NewWriter(conn)
	for _, r := range []struct {
		typ     byte
		content []byte
	}{
		{fcgiBeginRequest, []byte{0, 1, 0, 0, 0, 0, 0, 0}}, // role 1 (responder), flags 0: close when done
		{fcgiParams, pairs.Bytes()},
		{fcgiParams, nil},
		{fcgiStdin, nil},
	} {
		// version 1, type, request id 1, content length, no padding
		header := []byte{1, r.typ, 0, 1, byte(len(r.content) >> 8), byte(len(r.content)), 0, 0}
		if _, err := w.Write(append(header, r.content...)); err != nil {
			return "", "", err
		}
	}
	if err := w.Flush(); err != nil {
		return "", "", fmt.Errorf("send the request: %w", err)
	}
	rd := bufio.NewReader(conn)
	var out, errs strings.Builder
	for {
		var header [8]byte
		if _, err := io.ReadFull(rd, header[:]); err != nil {
			return out.String(), errs.String(), fmt.Errorf("read a record: %w", err)
		}
		length, padding := int(binary.BigEndian.Uint16(header[4:6])), int(header[6])
		content := make([]byte, length+padding)
		if _, err := io.ReadFull(rd, content); err != nil {
			return out.String(), errs.String(), fmt.Errorf("read a record: %w", err)
		}
		switch header[1] {
		case fcgiStdout:
			out.Write(content[:length])
		case fcgiStderr:
			errs.Write(content[:length])
		case fcgiEndRequest:
			return out.String(), errs.String(), nil
		}
	}
}

// dialUnixAs connects to the Unix socket at path as uid and gid, with no
// supplementary groups, as a process of that user would. The kernel
// checks a socket file's permissions at connect, with the calling
// thread's credentials; so the dialing goroutine locks itself to an OS
// thread, changes that thread's credentials only (raw system calls:
// syscall.Setuid would change every thread's), and returns still locked,
// which ends the thread, so no other goroutine ever runs with them. Once
// open, the connection serves the whole process. It needs root.
func dialUnixAs(path string, uid, gid int) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		for _, call := range []struct {
			trap, a1, a2, a3 uintptr
			what             string
		}{
			{syscall.SYS_SETGROUPS, 0, 0, 0, "setgroups"},
			{syscall.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid), "setresgid"},
			{syscall.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid), "setresuid"},
		} {
			if _, _, errno := syscall.RawSyscall(call.trap, call.a1, call.a2, call.a3); errno != 0 {
				done <- result{err: fmt.Errorf("%s: %w", call.what, errno)}
				return
			}
		}
		conn, err := net.DialTimeout("unix", path, 5*time.Second)
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}
