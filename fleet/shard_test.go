package fleet_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/fleet"
)

func TestShardRange(t *testing.T) {
	tt := []struct {
		n      int
		s      fleet.Shard
		lo, hi int
	}{
		{10, fleet.Shard{}, 0, 10},
		{10, fleet.Shard{Index: 0, Count: 1}, 0, 10},
		{10, fleet.Shard{Index: 0, Count: 3}, 0, 3},
		{10, fleet.Shard{Index: 1, Count: 3}, 3, 6},
		{10, fleet.Shard{Index: 2, Count: 3}, 6, 10},
		{3, fleet.Shard{Index: 0, Count: 5}, 0, 0},
		{3, fleet.Shard{Index: 1, Count: 5}, 0, 1},
		{3, fleet.Shard{Index: 4, Count: 5}, 2, 3},
		{1_000_000, fleet.Shard{Index: 7, Count: 8}, 875_000, 1_000_000},
	}
	for _, tc := range tt {
		if lo, hi := tc.s.Range(tc.n); lo != tc.lo || hi != tc.hi {
			t.Errorf("%v of %d: [%d, %d), want [%d, %d)", tc.s, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
}

// checkCover fails unless the count shards of n cover every index exactly once, in order,
// with sizes differing by at most one.
func checkCover(t *testing.T, n, count int) {
	t.Helper()
	next, minSize, maxSize := 0, n, 0
	for i := range count {
		lo, hi := fleet.Shard{Index: i, Count: count}.Range(n)
		if lo != next || hi < lo {
			t.Fatalf("n=%d count=%d: shard %d is [%d, %d), want it to start at %d", n, count, i, lo, hi, next)
		}
		next = hi
		minSize, maxSize = min(minSize, hi-lo), max(maxSize, hi-lo)
	}
	if next != n {
		t.Fatalf("n=%d count=%d: shards end at %d", n, count, next)
	}
	if maxSize-minSize > 1 {
		t.Fatalf("n=%d count=%d: sizes from %d to %d", n, count, minSize, maxSize)
	}
}

func TestShardCoverExhaustive(t *testing.T) {
	for n := 1; n <= 64; n++ {
		for count := 1; count <= 70; count++ {
			checkCover(t, n, count)
		}
	}
}

func TestShardCoverProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		checkCover(t, 1+r.IntN(5_000_000), 1+r.IntN(500))
	}
}

func TestParseShard(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == fleet.CompletionIndexEnv {
				return v
			}
			return ""
		}
	}
	tt := []struct {
		in, env string
		want    fleet.Shard
		ok      bool
	}{
		{"0/1", "", fleet.Shard{Index: 0, Count: 1}, true},
		{"3/8", "", fleet.Shard{Index: 3, Count: 8}, true},
		{"auto/4", "2", fleet.Shard{Index: 2, Count: 4}, true},
		{"auto/4", "", fleet.Shard{}, false},
		{"auto/4", "4", fleet.Shard{}, false},
		{"8/8", "", fleet.Shard{}, false},
		{"-1/8", "", fleet.Shard{}, false},
		{"1/0", "", fleet.Shard{}, false},
		{"1", "", fleet.Shard{}, false},
		{"a/b", "", fleet.Shard{}, false},
	}
	for _, tc := range tt {
		got, err := fleet.ParseShard(tc.in, env(tc.env))
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseShard(%q) with index %q = %v, %v", tc.in, tc.env, got, err)
		}
	}
}

// TestMissingShards checks which shards a (merged) summary lacks, for complete, partial,
// unsplit and inconsistent sets.
func TestMissingShards(t *testing.T) {
	for _, tc := range []struct {
		shards  []string
		missing []string
		err     bool
	}{
		{shards: nil},
		{shards: []string{"0/1"}},
		{shards: []string{"0/4", "1/4", "2/4", "3/4"}},
		{shards: []string{"3/4", "0/4", "2/4"}, missing: []string{"1/4"}},
		{shards: []string{"1/4"}, missing: []string{"0/4", "2/4", "3/4"}},
		{shards: []string{"0/2", "1/3"}, err: true},
		{shards: []string{"x/2"}, err: true},
		{shards: []string{"auto/2"}, err: true},
		{shards: []string{"2/2"}, err: true},
	} {
		got, err := fleet.Summary{Shards: tc.shards}.MissingShards()
		if (err != nil) != tc.err || strings.Join(got, ",") != strings.Join(tc.missing, ",") {
			t.Errorf("%q: missing %q err %v; want %q err %v", tc.shards, got, err, tc.missing, tc.err)
		}
	}
}
