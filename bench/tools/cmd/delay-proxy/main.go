// Command delay-proxy is a TCP delay line for benchmarks: it accepts connections on a
// loopback address, opens one connection to a loopback target for each, and forwards the
// bytes in both directions, each chunk no earlier than a fixed one-way delay after it was
// read. A request and its response therefore cross the proxy with twice that delay added.
//
// It models link latency only: there is no jitter, loss or bandwidth limit, and chunks are
// never reordered. It binds and dials loopback addresses only.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// chunkSize bounds one read; gRPC frames of an authorization check fit in one chunk.
const chunkSize = 32 * 1024

// queuedChunks bounds the bytes in flight per direction (queuedChunks * chunkSize); a full
// queue stops reading from the source, as a full TCP window would.
const queuedChunks = 1024

type chunk struct {
	data []byte
	due  time.Time
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to accept connections on, host:port")
	target := flag.String("target", "", "loopback address to forward each connection to, host:port")
	delay := flag.Duration("one-way-delay", 2500*time.Microsecond, "delay added to each direction, e.g. 2.5ms")
	flag.Parse()

	if err := checkArgs(*listen, *target, *delay); err != nil {
		fmt.Fprintf(os.Stderr, "delay-proxy: %v\n", err)
		os.Exit(2)
	}

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "delay-proxy: listen on %s failed: %v\n", *listen, err)
		os.Exit(1)
	}
	// The first stdout line is the bound address, so a caller that passed port 0 learns it.
	fmt.Println(listener.Addr().String())
	log.Printf("delay-proxy: forwarding %s to %s with %s added each way", listener.Addr(), *target, *delay)

	go stopOnSignal(listener)
	serve(listener, *target, *delay)
}

func checkArgs(listen, target string, delay time.Duration) error {
	if target == "" {
		return errors.New("missing -target: pass the loopback host:port to forward to, e.g. -target 127.0.0.1:9191")
	}
	for _, addr := range []struct{ flag, value string }{{"-listen", listen}, {"-target", target}} {
		host, _, err := net.SplitHostPort(addr.value)
		if err != nil {
			return fmt.Errorf("invalid %s %q: %v; expected host:port", addr.flag, addr.value, err)
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("invalid %s %q: the host must be a loopback IP address such as 127.0.0.1", addr.flag, addr.value)
		}
	}
	if delay < 0 {
		return fmt.Errorf("invalid -one-way-delay %s: expected a duration of 0 or more, e.g. 2.5ms", delay)
	}
	return nil
}

func stopOnSignal(listener net.Listener) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	sig := <-signals
	log.Printf("delay-proxy: stopping on %s", sig)
	listener.Close()
}

func serve(listener net.Listener, target string, delay time.Duration) {
	for {
		client, err := listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Printf("delay-proxy: accept failed: %v", err)
			continue
		}
		go forward(client, target, delay)
	}
}

func forward(client net.Conn, target string, delay time.Duration) {
	defer client.Close()
	server, err := net.Dial("tcp", target)
	if err != nil {
		log.Printf("delay-proxy: dial %s for %s failed: %v", target, client.RemoteAddr(), err)
		return
	}
	defer server.Close()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); delayLine(server, client, delay) }()
	go func() { defer wg.Done(); delayLine(client, server, delay) }()
	wg.Wait()
}

// delayLine copies src to dst, writing each chunk at its due time. The reader and the writer
// run apart, so a chunk waits only for its own delay, never for the delays of earlier ones.
func delayLine(dst, src net.Conn, delay time.Duration) {
	queue := make(chan chunk, queuedChunks)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, chunkSize)
			n, err := src.Read(buf)
			if n > 0 {
				queue <- chunk{data: buf[:n], due: time.Now().Add(delay)}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					log.Printf("delay-proxy: read from %s failed: %v", src.RemoteAddr(), err)
				}
				return
			}
		}
	}()

	for c := range queue {
		sleepUntil(c.due)
		if _, err := dst.Write(c.data); err != nil {
			log.Printf("delay-proxy: write to %s failed: %v", dst.RemoteAddr(), err)
			src.Close()
			for range queue {
			}
			return
		}
	}
	if tcp, ok := dst.(*net.TCPConn); ok {
		tcp.CloseWrite()
	}
}

// sleepUntil blocks the calling thread until due with nanosleep(2). time.Sleep is not used
// because the Go runtime (1.26) rounds timer waits to whole milliseconds on Linux, which
// turned a 2.5 ms delay into about 3.3 ms.
func sleepUntil(due time.Time) {
	for {
		wait := time.Until(due)
		if wait <= 0 {
			return
		}
		request := syscall.NsecToTimespec(int64(wait))
		// An interrupted sleep (EINTR) goes round again with the time that is left.
		_ = syscall.Nanosleep(&request, nil)
	}
}
