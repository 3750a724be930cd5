package runtime

import "time"

// alive reports whether anything is left that could fire. Loop only.
func (l *Loop) alive() bool {
	if l.timers.len() > 0 || l.handles.Load() > 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.jobs) > 0
}

// ready reports whether a round would dispatch something now. Loop only.
func (l *Loop) ready() bool {
	if t := l.timers.first(); t != nil && !t.deadline.After(l.dueTime()) {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.jobs) > 0
}

// round dispatches the jobs queued so far, then the timers due so far, and
// re-arms the clock for the next timer. fromJS is true when a preemption
// point or .wait() runs the round inside running JS: the frames of that JS
// are then cut from the stacks of the callbacks' errors, which do not
// belong to it. Loop only; never nested (depth 0).
func (l *Loop) round(fromJS bool) {
	l.pending.Store(false)
	if fromJS {
		l.baseFrames = len(l.vm.CaptureCallStack(0, nil))
		defer func() { l.baseFrames = 0 }()
	}
	l.mu.Lock()
	jobs := l.jobs
	l.jobs = l.spare[:0]
	l.mu.Unlock()
	for i, job := range jobs {
		jobs[i] = nil
		if l.stopped.Load() {
			break
		}
		l.depth++
		l.call(func() error { return job(l.vm) })
		l.depth--
	}
	l.mu.Lock()
	l.spare = jobs[:0]
	l.mu.Unlock()

	for _, t := range l.timers.popDue(l.dueTime()) {
		if l.stopped.Load() {
			break
		}
		l.fire(t)
	}
	l.arm()
}

// dueTime is the device time up to which timers are due: the clock's Now,
// or the deadline of the armed timer that fired if the clock lags it.
func (l *Loop) dueTime() time.Time {
	now := l.clock.Now()
	if f := l.firedUpTo.Load(); f > now.UnixNano() {
		return time.Unix(0, f)
	}
	return now
}

// arm makes sure a clock timer wakes the loop at the earliest JS timer's
// deadline. Loop only.
func (l *Loop) arm() {
	t := l.timers.first()
	if t == nil || l.stopped.Load() {
		if l.armedStop != nil {
			l.armedStop()
			l.armedStop, l.armedAt = nil, time.Time{}
		}
		return
	}
	if l.armedStop != nil && l.armedAt.Equal(t.deadline) {
		return
	}
	if l.armedStop != nil {
		l.armedStop()
	}
	at := t.deadline
	l.armedAt = at
	l.armedStop = l.clock.AfterFunc(at.Sub(l.clock.Now()), func() {
		for {
			old := l.firedUpTo.Load()
			if old >= at.UnixNano() || l.firedUpTo.CompareAndSwap(old, at.UnixNano()) {
				break
			}
		}
		l.wake()
	})
}
