package fleet

import "testing"

// TestWorkerMemory: the memory plan of --workers, with the values the CLI had (auto: the
// larger of 512 MiB and 1 MiB per instance; a worker's share and its RSS bound at twice it).
func TestWorkerMemory(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want int64
	}{{0, 512 << 20}, {1, 512 << 20}, {512, 512 << 20}, {513, 513 << 20}, {100000, 100000 << 20}} {
		if got := AutoMemory(tc.n); got != tc.want {
			t.Errorf("AutoMemory(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		budget        int64
		workers       int
		share, maxRSS int64
	}{
		{0, 4, 0, 0}, {512 << 20, 4, 128 << 20, 256 << 20}, {1000, 3, 333, 666}, {1001, 3, 333, 667},
		{64 << 20, 0, 64 << 20, 128 << 20},
	} {
		share, maxRSS := WorkerMemory(tc.budget, tc.workers)
		if share != tc.share || maxRSS != tc.maxRSS {
			t.Errorf("WorkerMemory(%d, %d) = %d, %d, want %d, %d", tc.budget, tc.workers, share, maxRSS, tc.share, tc.maxRSS)
		}
	}
	if MinWorkerMemory != 32<<20 {
		t.Errorf("MinWorkerMemory %d", MinWorkerMemory)
	}
}

// TestSummaryFailures counts the failed instances by kind; other endings are not failures.
func TestSummaryFailures(t *testing.T) {
	s := Summary{ScriptErrors: 2, Ended: []Ended{
		{Reason: ReasonMemory}, {Reason: ReasonWorkerCrash}, {Reason: ReasonWorkerCrash},
		{Reason: ReasonTimeout}, {Reason: ReasonInterrupted}, {Reason: ""},
	}}
	if se, mem, crashed := s.Failures(); se != 2 || mem != 1 || crashed != 2 {
		t.Errorf("Failures() = %d, %d, %d", se, mem, crashed)
	}
	if se, mem, crashed := (Summary{}).Failures(); se+mem+crashed != 0 {
		t.Errorf("an empty summary has failures: %d, %d, %d", se, mem, crashed)
	}
}
