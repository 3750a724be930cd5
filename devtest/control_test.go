package devtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/devtest"
)

// TestBrokerRefuseArguments: broker.refuse takes a CONNACK refusal code 1..5, or 0 to accept
// again; anything else is a TypeError naming what it got (issue 17 item 11: NaN and 200 were
// accepted), on the embedded broker and before the external-broker skip.
func TestBrokerRefuseArguments(t *testing.T) {
	bad := []string{"NaN", "200", "1.5", "'3'", "Infinity", "-1", "6", "undefined", "null", "true", "{}", "[3]", "-Infinity", "256", "3.000001"}
	good := []string{"0", "1", "2", "3", "4", "5", "-0", "3.0"}
	var src strings.Builder
	for _, b := range bad {
		fmt.Fprintf(&src, "test(%q, function() { broker.refuse(%s); });\n", "bad "+b, b)
	}
	for _, g := range good {
		fmt.Fprintf(&src, "test(%q, function() { broker.refuse(%s); });\n", "good "+g, g)
	}
	src.WriteString(`test('refused with 2 after a bad call', function() {
  try { broker.refuse(NaN); } catch (e) { if (e.name !== 'TypeError') throw e; }
  broker.refuse(2);
  var d = device.start('sensor.js');
  world.after(1500);
  expect(d).toHaveFailedToConnect({returnCode: 2, min: 1});
  expect(d).not.toHaveConnected();
});
`)
	r := devtest.RunFile(context.Background(), writeTest(t, src.String()), devtest.Options{})
	if r.Err != nil {
		t.Fatalf("file error: %v", r.Err)
	}
	if len(r.Tests) != len(bad)+len(good)+1 {
		t.Fatalf("%d results", len(r.Tests))
	}
	for i, tr := range r.Tests {
		switch {
		case i < len(bad):
			if tr.Status != devtest.Failed || !strings.Contains(tr.Message, "TypeError: broker.refuse(returnCode): want a CONNACK refusal code 1..5") {
				t.Errorf("%s: %s %q", tr.Name, tr.Status, tr.Message)
			}
		default:
			if tr.Status != devtest.Passed {
				t.Errorf("%s: %s %q", tr.Name, tr.Status, tr.Message)
			}
		}
	}
}
