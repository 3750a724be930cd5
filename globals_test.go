package devicejs_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/runtime"
)

// TestConfigGlobalsRefused checks that New refuses per-device values that are not plain JSON
// or whose names are not usable, with a ConfigError for Globals naming the key.
func TestConfigGlobalsRefused(t *testing.T) {
	cycle := map[string]any{}
	cycle["c"] = cycle
	for _, tc := range []struct {
		name string
		g    runtime.Globals
		key  string
	}{
		{"function", runtime.Globals{"CB": func() {}}, "CB"},
		{"NaN", runtime.Globals{"T": math.NaN()}, "T"},
		{"-Inf", runtime.Globals{"T": []any{math.Inf(-1)}}, "T"},
		{"cycle", runtime.Globals{"C": cycle}, "C"},
		{"mqtt", runtime.Globals{"mqtt": "x"}, "mqtt"},
		{"setTimeout", runtime.Globals{"setTimeout": 1}, "setTimeout"},
		{"not an identifier", runtime.Globals{"a.b": 1}, "a.b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := devicejs.New(devicejs.Config{Globals: tc.g})
			var ce *devicejs.ConfigError
			var ge *runtime.GlobalsError
			if !errors.As(err, &ce) || ce.Field != "Globals" || !errors.Is(err, devicejs.ErrInvalidConfig) ||
				!errors.As(err, &ge) || ge.Key != tc.key {
				t.Fatalf("New: %v; want a ConfigError for Globals naming %q", err, tc.key)
			}
		})
	}
}

// TestConfigGlobalsPerDevice runs one script as three devices with their own values, and
// checks that a device without Globals sees none of them.
func TestConfigGlobalsPerDevice(t *testing.T) {
	src := `print(typeof ID === 'undefined' ? 'none' : ID + ':' + JSON.stringify(CFG));`
	for _, tc := range []struct {
		g    runtime.Globals
		want string
	}{
		{runtime.Globals{"ID": "a", "CFG": map[string]any{"qos": 1}}, `a:{"qos":1}`},
		{runtime.Globals{"ID": "b", "CFG": nil}, "b:null"},
		{nil, "none"},
	} {
		var out syncbuf.Buffer
		res, err := devicejs.Run(context.Background(), devicejs.Script{Source: src}, devicejs.Config{Stdout: &out, Globals: tc.g})
		if err != nil || res.Err != nil {
			t.Fatalf("run: %v %v", err, res.Err)
		}
		if got := strings.TrimSpace(out.String()); got != tc.want {
			t.Errorf("printed %q, want %q", got, tc.want)
		}
	}
}
