// Command silentauth is an ejabberd extauth program that never answers
// the password "silent" (as a daemon that died while deciding would not),
// answers "yes" to the password "right" and to isuser, and "no" to
// anything else. It appends "start PID", "silent PID" and "exit PID"
// lines to the file named by its argument, so that a test sees when
// ejabberd restarts it.
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	note := func(what string) {
		if len(os.Args) < 2 {
			return
		}
		f, err := os.OpenFile(os.Args[1], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return
		}
		fmt.Fprintf(f, "%s %d\n", what, os.Getpid())
		f.Close()
	}
	note("start")
	defer note("exit")
	in := bufio.NewReader(os.Stdin)
	var head [2]byte
	for {
		if _, err := io.ReadFull(in, head[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint16(head[:]))
		if _, err := io.ReadFull(in, body); err != nil {
			return
		}
		f := strings.SplitN(string(body), ":", 4)
		yes := f[0] == "isuser" || len(f) == 4 && f[3] == "right"
		if len(f) == 4 && f[3] == "silent" {
			note("silent")
			continue
		}
		reply := []byte{0, 2, 0, 0}
		if yes {
			reply[3] = 1
		}
		if _, err := os.Stdout.Write(reply); err != nil {
			return
		}
	}
}
