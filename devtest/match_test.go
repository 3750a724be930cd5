package devtest_test

import (
	"strings"
	"testing"

	"github.com/devicejs/devicejs/devtest"
)

// TestPayloadMatchers (issue 18 E): toHavePublished's json (a partial deep match of the JSON
// payload) and predicate forms, in many shapes; failures say why (the difference, a payload
// that is not JSON, a predicate that threw or returned something else than a boolean).
func TestPayloadMatchers(t *testing.T) {
	r := runFile(t, "testdata/match/match.test.js", devtest.Options{})
	if r.Err != nil {
		t.Fatalf("file error: %v", r.Err)
	}
	want := []struct {
		name   string
		status devtest.Status
		msg    []string
	}{
		{"json: partial match", devtest.Passed, nil},
		{"json: no match shows the difference", devtest.Failed, []string{
			`expected: at least 1 publishes matching {topic: "tele/a", json: {seq: 3, nested: {b: {c: 9}}}}`,
			`first JSON payload that did not match: tele/a`, `at .seq: expected 3, got 1`}},
		{"json: a payload that is not JSON says so", devtest.Failed, []string{
			`1 publishes had a payload that is not JSON (json never matches them), e.g. tele/raw "not json": not JSON`}},
		{"json: too deep a payload says so", devtest.Failed, []string{"JSON nested deeper than 1000 levels"}},
		{"predicate", devtest.Passed, nil},
		{"predicate throwing", devtest.Failed, []string{
			`toHavePublished(predicate): the predicate threw on publish 4 (tele/raw "not json"): TypeError: Cannot read property 'seq' of undefined`,
			"match.test.js:"}},
		{"predicate returning a non-boolean", devtest.Failed, []string{
			"TypeError: toHavePublished(predicate): the predicate must return true or false, got undefined (on publish 1, tele/a)"}},
		{"predicate returning a number", devtest.Failed, []string{"must return true or false, got 1"}},
	}
	if len(r.Tests) != len(want) {
		t.Fatalf("%d results, want %d", len(r.Tests), len(want))
	}
	for i, w := range want {
		got := r.Tests[i]
		if got.Name != w.name || got.Status != w.status {
			t.Errorf("test %d: %q %s, want %q %s\n%s", i, got.Name, got.Status, w.name, w.status, got.Message)
		}
		for _, m := range w.msg {
			if !strings.Contains(got.Message, m) {
				t.Errorf("%s: message lacks %q:\n%s", w.name, m, got.Message)
			}
		}
	}
}
