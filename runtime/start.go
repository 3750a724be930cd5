package runtime

import "context"

// Start runs the script like Run, without blocking: it returns at once and
// calls done with what Run would have returned, once the run has ended and
// the OnStop hooks have run. Setup and the top level run on a new goroutine.
// Between dispatch rounds, while nothing is ready, a started loop holds no
// goroutine at all: the wake-up that makes something ready (a posted job, a
// timer, a released handle, the context's end) resumes it on a resume worker
// (workers.go): an idle one if there is one, else a new goroutine. A fleet of
// mostly idle loops so saves a parked goroutine, and its stack, per loop; a
// wake-up costs about what it costs a Run loop while wake-ups keep workers
// busy, and a goroutine start and stack growth (~8 µs) after a quiet spell.
//
// The loop goroutine is then whichever goroutine runs the loop at the time:
// setup functions, posted jobs, native functions, OnStop hooks and done run
// on it, one at a time. Start returns an error, and never calls done, when
// the loop has already been run or started. Start and Run may be called once
// per Loop in all.
func (l *Loop) Start(ctx context.Context, filename, src string, done func(error), setup ...func(l *Loop) error) error {
	if done == nil {
		done = func(error) {}
	}
	if err := l.begin(ctx, filename); err != nil {
		return err
	}
	l.done = done
	go func() {
		if ended, err := l.run(src, setup); ended {
			l.done(l.finish(err))
		}
	}()
	return nil
}

// resume carries on a parked Start loop on the calling goroutine (a resume
// worker, see goResume).
func (l *Loop) resume() {
	if ended, err := l.dispatch(); ended {
		l.done(l.finish(err))
	}
}
