package fleet

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard selects the Index-th (0-based) of Count equal slices of a fleet's instances. The zero
// value (and Count 1) is the whole fleet.
type Shard struct {
	Index int // 0 .. Count-1
	Count int // number of slices; 0 means 1
}

// String returns "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, max(s.Count, 1)) }

// Range returns the instance indices [lo, hi) of shard s in a fleet of n instances:
// lo = Index·n/Count and hi = (Index+1)·n/Count, so the shards of one fleet cover 0 .. n-1
// exactly once, in order, and their sizes differ by at most one.
func (s Shard) Range(n int) (lo, hi int) {
	c := int64(max(s.Count, 1))
	lo = int(int64(s.Index) * int64(n) / c)
	hi = int(int64(s.Index+1) * int64(n) / c)
	return lo, hi
}

// Validate reports a shard whose index is out of range.
func (s Shard) Validate() error {
	if s.Count < 0 || s.Index < 0 || s.Index >= max(s.Count, 1) {
		return fmt.Errorf("shard %d/%d: want 0 <= i < n", s.Index, s.Count)
	}
	return nil
}

// CompletionIndexEnv is the variable a Kubernetes Indexed Job sets to the pod's index; ParseShard
// reads it for "auto/n".
const CompletionIndexEnv = "JOB_COMPLETION_INDEX"

// ParseShard reads "i/n" (i 0-based) or "auto/n", where i is taken from getenv(CompletionIndexEnv)
// (getenv is typically os.Getenv).
func ParseShard(v string, getenv func(string) string) (Shard, error) {
	is, ns, ok := strings.Cut(v, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/n (0-based i) or auto/n", v)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		return Shard{}, fmt.Errorf("shard %q: n must be a positive integer", v)
	}
	if is == "auto" {
		is = getenv(CompletionIndexEnv)
		if is == "" {
			return Shard{}, fmt.Errorf("shard %q: %s is not set", v, CompletionIndexEnv)
		}
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return Shard{}, fmt.Errorf("shard %q: bad index %q", v, is)
	}
	s := Shard{Index: i, Count: n}
	return s, s.Validate()
}

// MissingShards returns, in index order, the "i/n" shards of a fleet split n ways that summary s
// does not cover (none for a complete set, or for a summary of a fleet that was not split). It
// reports an error when s covers shards of different splits ("0/2" and "1/3") or holds a shard
// it cannot read.
func (s Summary) MissingShards() ([]string, error) {
	n := 0
	have := map[int]bool{}
	for _, v := range s.Shards {
		sh, err := ParseShard(v, func(string) string { return "" })
		if err != nil {
			return nil, err
		}
		if n != 0 && sh.Count != n {
			return nil, fmt.Errorf("shards of different splits: %d and %d ways", n, sh.Count)
		}
		n = sh.Count
		have[sh.Index] = true
	}
	var missing []string
	for i := range n {
		if !have[i] {
			missing = append(missing, Shard{Index: i, Count: n}.String())
		}
	}
	return missing, nil
}
