package cli

import (
	"slices"
	"testing"
)

// TestStackStartEnv: the environment `devicejs fleet` re-executes with adds
// adaptivestackstart=0 to GODEBUG, keeps every other variable and setting in order, and leaves
// a GODEBUG that already names adaptivestackstart alone (nil: no re-execution).
func TestStackStartEnv(t *testing.T) {
	tt := []struct {
		name string
		env  []string
		want []string // nil: unchanged, no re-execution
	}{
		{"none", []string{"PATH=/bin", "HOME=/root"}, []string{"PATH=/bin", "HOME=/root", "GODEBUG=adaptivestackstart=0"}},
		{"empty env", nil, []string{"GODEBUG=adaptivestackstart=0"}},
		{"empty GODEBUG", []string{"GODEBUG=", "A=1"}, []string{"GODEBUG=adaptivestackstart=0", "A=1"}},
		{"other settings", []string{"A=1", "GODEBUG=madvdontneed=1,gctrace=0"}, []string{"A=1", "GODEBUG=madvdontneed=1,gctrace=0,adaptivestackstart=0"}},
		{"user chose 1", []string{"GODEBUG=adaptivestackstart=1"}, nil},
		{"user chose 0", []string{"GODEBUG=gctrace=0,adaptivestackstart=0"}, nil},
		{"user chose, spaced", []string{"GODEBUG=gctrace=0, adaptivestackstart=1"}, nil},
		{"a similar name", []string{"GODEBUG=xadaptivestackstart=1"}, []string{"GODEBUG=xadaptivestackstart=1,adaptivestackstart=0"}},
		{"a variable named like it", []string{"MY_GODEBUG=adaptivestackstart=1"}, []string{"MY_GODEBUG=adaptivestackstart=1", "GODEBUG=adaptivestackstart=0"}},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			got := stackStartEnv(tc.env)
			if (got == nil) != (tc.want == nil) || !slices.Equal(got, tc.want) {
				t.Errorf("stackStartEnv(%q) = %q, want %q", tc.env, got, tc.want)
			}
		})
	}
}
