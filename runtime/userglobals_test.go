package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/runtime"
)

// runWithGlobals runs src with g installed and returns what it printed and the run's error.
func runWithGlobals(t *testing.T, g runtime.Globals, src string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	l := runtime.New(runtime.Options{Stdout: &out})
	err := l.Run(context.Background(), "g.js", src, g.Setup())
	return out.String(), err
}

// TestGlobalsSeenByScript checks that per-device values arrive as plain JS values before the
// script runs, in their order, as fresh copies.
func TestGlobalsSeenByScript(t *testing.T) {
	type reading struct {
		Topic string `json:"topic"`
		QoS   int    `json:"qos"`
	}
	g := runtime.Globals{
		"DEVICE_ID": "sensor02",
		"N":         3,
		"BIG":       int64(1) << 53,
		"F":         2.5,
		"ON":        true,
		"NOTHING":   nil,
		"LIST":      []any{1, "two", []int{3}},
		"CFG":       json.RawMessage(`{"z": 1, "a": {"__proto__": 5}, "m": [true]}`),
		"R":         reading{Topic: "t/1", QoS: 1},
		"$x":        "dollar",
	}
	out, err := runWithGlobals(t, g, `
print(DEVICE_ID, typeof N, N, BIG, F, ON, NOTHING, JSON.stringify(LIST));
print(Object.keys(CFG).join(','), Object.getPrototypeOf(CFG) === Object.prototype, CFG.a.__proto__, Object.getPrototypeOf(CFG.a) === Object.prototype);
print(Array.isArray(LIST), Array.isArray(CFG.m), R.topic, R.qos, $x);
var DEVICE_ID = typeof DEVICE_ID !== 'undefined' ? DEVICE_ID : 'fallback';
print(DEVICE_ID, typeof UNSET !== 'undefined' ? UNSET : 'default');
N = 4; print(N);
`)
	if err != nil {
		t.Fatal(err)
	}
	want := "sensor02 number 3 9007199254740992 2.5 true null [1,\"two\",[3]]\n" +
		"z,a,m true 5 true\n" +
		"true true t/1 1 dollar\n" +
		"sensor02 default\n" +
		"4\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// TestGlobalsRefused checks the values and names that are refused, each naming its key.
func TestGlobalsRefused(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	deep := any(1)
	for range 200 {
		deep = []any{deep}
	}
	for _, tc := range []struct {
		name string
		g    runtime.Globals
		key  string
		msg  string
	}{
		{"function", runtime.Globals{"F": func() {}}, "F", "not plain JSON"},
		{"channel", runtime.Globals{"C": make(chan int)}, "C", "not plain JSON"},
		{"NaN", runtime.Globals{"X": math.NaN()}, "X", "NaN"},
		{"+Inf", runtime.Globals{"X": math.Inf(1)}, "X", "+Inf"},
		{"nested NaN", runtime.Globals{"X": map[string]any{"a": []any{math.Inf(-1)}}}, "X", "-Inf"},
		{"cycle", runtime.Globals{"X": cyclic}, "X", "cycle"},
		{"too deep", runtime.Globals{"D": deep}, "D", "nested deeper"},
		{"bad JSON text", runtime.Globals{"J": json.RawMessage(`{`)}, "J", ""},
		{"too large", runtime.Globals{"S": strings.Repeat("x", runtime.MaxGlobalsBytes)}, "S", "more than"},
		{"mqtt", runtime.Globals{"mqtt": 1}, "mqtt", "not a usable global name"},
		{"print", runtime.Globals{"print": 1}, "print", "not a usable"},
		{"JSON", runtime.Globals{"JSON": 1}, "JSON", "not a usable"},
		{"reserved", runtime.Globals{"var": 1}, "var", "not a usable"},
		{"eval", runtime.Globals{"eval": 1}, "eval", "not a usable"},
		{"empty", runtime.Globals{"": 1}, "", "not a usable"},
		{"digit first", runtime.Globals{"1a": 1}, "1a", "not a usable"},
		{"dash", runtime.Globals{"a-b": 1}, "a-b", "not a usable"},
		{"space", runtime.Globals{"a b": 1}, "a b", "not a usable"},
		{"NUL", runtime.Globals{"a\x00": 1}, "a\x00", "not a usable"},
		{"non-ASCII", runtime.Globals{"é": 1}, "é", "not a usable"},
		{"built-in not listed", runtime.Globals{"Uint8Array": 1}, "Uint8Array", "not a usable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runWithGlobals(t, tc.g, `print('ran')`)
			var ge *runtime.GlobalsError
			if !errors.As(err, &ge) || ge.Key != tc.key || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v; want a GlobalsError for %q containing %q", err, tc.key, tc.msg)
			}
			if tc.name == "built-in not listed" {
				return // found by Setup on the global object, not by Validate
			}
			if err := tc.g.Validate(); err == nil {
				t.Errorf("Validate accepted it")
			}
		})
	}
}

// TestParseGlobal checks the --define KEY=VALUE forms.
func TestParseGlobal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		key  string
		want string // the value as JSON
		err  bool
	}{
		{in: "ID=sensor-042", key: "ID", want: `"sensor-042"`},
		{in: "N=3", key: "N", want: `3`},
		{in: "N=0123", key: "N", want: `"0123"`},
		{in: `S="042"`, key: "S", want: `"042"`},
		{in: "ON=true", key: "ON", want: `true`},
		{in: "X=null", key: "X", want: `null`},
		{in: `CFG={"a":[1,2]}`, key: "CFG", want: `{"a":[1,2]}`},
		{in: `CFG={"a":`, key: "CFG", want: `"{\"a\":"`},
		{in: "E=", key: "E", want: `""`},
		{in: "EQ=a=b", key: "EQ", want: `"a=b"`},
		{in: "T=1 2", key: "T", want: `"1 2"`},
		{in: "NOEQUALS", err: true},
		{in: "=1", err: true},
		{in: "mqtt=1", err: true},
		{in: "a-b=1", err: true},
	} {
		k, v, err := runtime.ParseGlobal(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if err != nil {
			continue
		}
		b, _ := json.Marshal(v)
		if k != tc.key || string(b) != tc.want {
			t.Errorf("%q: %q = %s; want %q = %s", tc.in, k, b, tc.key, tc.want)
		}
	}
}
