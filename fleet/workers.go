package fleet

// The memory plan and the outcome of a fleet run as worker processes (Supervise, `devicejs
// fleet --workers`): engine rules the CLI applies to its flags.

// MinWorkerMemory is the smallest heap-budget share of one worker process: a worker holds
// about 15 MiB before its first instance (docs/fleet.md).
const MinWorkerMemory = 32 << 20

// AutoMemoryFloor and AutoMemoryPerInstance make AutoMemory.
const (
	AutoMemoryFloor       = 512 << 20
	AutoMemoryPerInstance = 1 << 20
)

// AutoMemory is the default heap budget of a fleet of n instances (`devicejs fleet
// --max-memory auto`): the larger of AutoMemoryFloor and AutoMemoryPerInstance per instance
// (an idle instance holds about 0.13 MiB).
func AutoMemory(n int) int64 {
	return max(AutoMemoryFloor, int64(n)*AutoMemoryPerInstance)
}

// WorkerMemory splits a fleet's heap budget (0: none) over its workers: share is each
// worker's own budget (its Config.MaxMemory), maxRSS the resident memory past which Supervise
// kills it (SuperviseConfig.MaxRSS: twice the share, room for what the heap budget does not
// count). A share below MinWorkerMemory is too small for a worker (the caller refuses it).
func WorkerMemory(budget int64, workers int) (share, maxRSS int64) {
	if workers < 1 {
		workers = 1
	}
	return budget / int64(workers), 2 * budget / int64(workers)
}

// Failures counts the instances of s that ended in failure, by kind: with a script error, at
// the memory budget (ReasonMemory) and in a worker that died without a summary
// (ReasonWorkerCrash). A run with any of them failed (`devicejs fleet` exits 1).
func (s Summary) Failures() (scriptErrors, memory, crashed int) {
	for _, e := range s.Ended {
		switch e.Reason {
		case ReasonMemory:
			memory++
		case ReasonWorkerCrash:
			crashed++
		}
	}
	return s.ScriptErrors, memory, crashed
}
