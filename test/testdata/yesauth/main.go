// Command yesauth is the cheapest possible ejabberd extauth program: it
// answers "yes" to everything. The load benchmarks use it as the baseline
// an extauth program cannot beat.
package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
)

func main() {
	in := bufio.NewReader(os.Stdin)
	var head [2]byte
	for {
		if _, err := io.ReadFull(in, head[:]); err != nil {
			return
		}
		if _, err := in.Discard(int(binary.BigEndian.Uint16(head[:]))); err != nil {
			return
		}
		if _, err := os.Stdout.Write([]byte{0, 2, 0, 1}); err != nil {
			return
		}
	}
}
