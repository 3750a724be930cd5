package runtime

// WatchedLoops is the number of runs registered with the process's heap watchdog (tests).
func WatchedLoops() int {
	heapWatch.mu.Lock()
	defer heapWatch.mu.Unlock()
	return len(heapWatch.loops)
}
