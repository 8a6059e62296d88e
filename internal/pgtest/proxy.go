package pgtest

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP proxy in front of a server whose connections a test can
// cut at any moment, like a network partition: Cut closes every open
// connection; while down, new connections are refused (closed at once).
// CutOn arms a one-shot cut at the moment a client sends given bytes.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	pairs  map[*pair]struct{}
	down   bool
	wg     sync.WaitGroup
	// trigger is the armed one-shot cut, if any.
	trigger atomic.Pointer[Trigger]
}

// Trigger is a one-shot cut: when a client message contains Pattern
// (compared in lower case), the proxy mutes the server's answers on that
// connection, forwards the message if Forward (so the server acts on it)
// and closes the connection after Settle. Down keeps the proxy refusing
// connections afterwards until Up.
type Trigger struct {
	Pattern []byte
	Forward bool
	Settle  time.Duration
	Down    bool
	// Fired is closed once the cut happened.
	Fired chan struct{}
}

type pair struct {
	client, server net.Conn
	muted          atomic.Bool
}

func (p *pair) close() { p.client.Close(); p.server.Close() }

// NewProxy listens on 127.0.0.1 and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, pairs: map[*pair]struct{}{}}
	p.wg.Add(1)
	go p.serve() // owned by the proxy; Close waits for it
	return p, nil
}

// Addr is the proxy's address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut drops every open connection; with down, new ones are refused until
// Up.
func (p *Proxy) Cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = p.down || down
	for c := range p.pairs {
		c.muted.Store(true)
		c.close()
	}
}

// Up accepts connections again.
func (p *Proxy) Up() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// CutOn arms t (replacing any armed trigger) and returns it.
func (p *Proxy) CutOn(t Trigger) *Trigger {
	t.Pattern = bytes.ToLower(t.Pattern)
	t.Fired = make(chan struct{})
	p.trigger.Store(&t)
	return &t
}

// Close stops the proxy and drops its connections.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Cut(true)
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		pr := &pair{client: c, server: up}
		p.pairs[pr] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.toServer(pr) // both directions owned by the proxy
		go p.toClient(pr)
	}
}

func (p *Proxy) toServer(pr *pair) {
	defer p.done(pr)
	buf := make([]byte, 64<<10)
	for {
		n, err := pr.client.Read(buf)
		if n > 0 {
			if t := p.trigger.Load(); t != nil && bytes.Contains(bytes.ToLower(buf[:n]), t.Pattern) && p.trigger.CompareAndSwap(t, nil) {
				pr.muted.Store(true)
				if t.Forward {
					pr.server.Write(buf[:n])
				}
				time.Sleep(t.Settle)
				if t.Down {
					p.Cut(true)
				}
				pr.close()
				close(t.Fired)
				return
			}
			if _, werr := pr.server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) toClient(pr *pair) {
	defer p.done(pr)
	buf := make([]byte, 64<<10)
	for {
		n, err := pr.server.Read(buf)
		if n > 0 && !pr.muted.Load() {
			if _, werr := pr.client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) done(pr *pair) {
	pr.close()
	p.mu.Lock()
	delete(p.pairs, pr)
	p.mu.Unlock()
	p.wg.Done()
}
