package mqttcore_test

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// ackingBroker answers CONNECT, acknowledges PUBLISH QoS 1 and reports each PUBLISH's fixed
// header byte on headers.
func ackingBroker(t *testing.T, headers chan<- byte) *testbroker.FakeBroker {
	return testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			if h>>4 != 3 {
				continue
			}
			headers <- h
			if h&0x06 == 0x02 { // QoS 1: PUBACK with the packet id after the topic
				tl := int(body[0])<<8 | int(body[1])
				id := body[2+tl : 4+tl]
				if _, err := c.Write([]byte{0x40, 0x02, id[0], id[1]}); err != nil {
					return
				}
			}
		}
	}))
}

func TestPublishDupFlagOnTheWire(t *testing.T) {
	headers := make(chan byte, 10)
	f := ackingBroker(t, headers)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, f.URL(), fastOptions(), r)
	tt := []struct {
		qos     byte
		dup     bool
		wantDup bool
	}{{1, true, true}, {1, false, false}, {0, true, false}, {0, false, false}}
	for _, tc := range tt {
		if err := s.Publish("d", []byte("x"), mqttcore.PublishOptions{QoS: tc.qos, Dup: tc.dup}, r.done("pub")); err != nil {
			t.Fatal(err)
		}
		r.expect(t, "pub 0")
		select {
		case hb := <-headers:
			if got := hb&0x08 != 0; got != tc.wantDup {
				t.Errorf("qos %d dup %v: header %#x", tc.qos, tc.dup, hb)
			}
		case <-time.After(waitFor):
			t.Fatal("no PUBLISH")
		}
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestKeepaliveDetectsDeadLink(t *testing.T) {
	f := testbroker.Fake(t, testbroker.Accept(0, nil)) // never answers PINGREQ
	h := newHost(mqttcore.Limits{})
	o := fastOptions()
	o.KeepAlive = time.Second
	r := newRecorder()
	start := time.Now()
	s := connected(t, h, f.URL(), o, r)
	r.expect(t, "close")
	// keepalive + pingTimeout (1 s each) plus paho's 1 s check interval.
	if el := time.Since(start); el > 6*time.Second {
		t.Fatalf("dead link detected after %v", el)
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

// loopExecutor is a stand-in for the JS event loop: a single goroutine draining a queue.
type loopExecutor struct {
	mu    sync.Mutex
	queue []func()
	wake  chan struct{}
	done  chan struct{}
	ran   int
}

func newLoopExecutor(t *testing.T) *loopExecutor {
	e := &loopExecutor{wake: make(chan struct{}, 1), done: make(chan struct{})}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-e.wake:
			case <-e.done:
				return
			}
			for {
				e.mu.Lock()
				if len(e.queue) == 0 {
					e.mu.Unlock()
					break
				}
				f := e.queue[0]
				e.queue = e.queue[1:]
				e.ran++
				e.mu.Unlock()
				f()
			}
		}
	}()
	t.Cleanup(func() { close(e.done); <-stopped })
	return e
}

func (e *loopExecutor) post(f func()) {
	e.mu.Lock()
	e.queue = append(e.queue, f)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func TestCustomExecutorRunsEveryCallbackInOrder(t *testing.T) {
	b := startMochi(t, nil)
	e := newLoopExecutor(t)
	h := mqttcore.NewHost(mqttcore.HostConfig{Clock: fastClock{scale: 100}, Executor: e.post})
	r := newRecorder()
	var sess *mqttcore.Session
	ev := r.events()
	// Like sample 5: subscribe from the connect handler, publish from a completion.
	ev.Connect = func(mqttcore.Connack) {
		r.ch <- "connect"
		if err := sess.Subscribe("loop/#", mqttcore.SubscribeOptions{QoS: 1}, func(c mqttcore.Code) {
			r.ch <- fmt.Sprintf("sub %d", c)
			if err := sess.Publish("loop/a", []byte("1"), mqttcore.PublishOptions{QoS: 1}, r.done("pub")); err != nil {
				r.ch <- err.Error()
			}
		}); err != nil {
			r.ch <- err.Error()
		}
	}
	// The handlers are set before the loop runs anything, as in the JS binding.
	e.mu.Lock()
	s, err := h.Connect(b.URL(), fastOptions(), mqttcore.TLSSettings{}, ev)
	sess = s
	e.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	r.expect(t, "connect", "sub 0")
	got := []string{r.next(t), r.next(t)}
	if !(got[0] == "pub 0" && got[1] == "message loop/a 1 false" || got[1] == "pub 0" && got[0] == "message loop/a 1 false") {
		t.Fatalf("got %q", got)
	}
	released := make(chan struct{})
	s.End(func() { close(released) })
	r.expect(t, "end")
	select {
	case <-released:
	case <-time.After(waitFor):
		t.Fatal("not released")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ran < 6 {
		t.Fatalf("executor ran %d callbacks", e.ran)
	}
}
