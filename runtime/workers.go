package runtime

import "time"

// workerIdle is how long a resume worker waits for the next parked loop to
// resume before it exits.
const workerIdle = 250 * time.Millisecond

// resumeCh hands a loop to resume to an idle worker (unbuffered: only a worker
// waiting right now takes it).
var resumeCh = make(chan *Loop)

// goResume resumes the parked loop l on an idle worker, or on a new one when
// none is idle. A worker keeps its goroutine, and the stack goja grew on it,
// across resumptions while wake-ups keep coming: a resumption then costs a
// hand-off, like a Run loop's wake-up, instead of a goroutine start and
// several stack copies (~8 µs). Idle workers exit after workerIdle, so an idle
// fleet holds none. Any goroutine.
func goResume(l *Loop) {
	select {
	case resumeCh <- l:
	default:
		go worker(l)
	}
}

// worker resumes l, then every loop handed to it, until it has waited
// workerIdle for one.
func worker(l *Loop) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		l.resume()
		t.Reset(workerIdle)
		select {
		case l = <-resumeCh:
		case <-t.C:
			return
		}
	}
}
