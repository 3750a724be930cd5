package devtest_test

import (
	"context"
	"testing"

	"github.com/devicejs/devicejs/devtest"
)

// BenchmarkHourOfDeviceTime runs testdata/hour.test.js: one hour of device time of sample 5
// (a QoS 1 publish every 15 s) with a broker restart, on virtual time. The target is under 5 s
// of wall time per op on the 2-core CI machine (docs/testing.md has the measured figure).
func BenchmarkHourOfDeviceTime(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r := devtest.RunFile(context.Background(), "testdata/hour.test.js", devtest.Options{})
		if r.Failed() || len(r.Tests) != 1 || r.Tests[0].Status != devtest.Passed {
			b.Fatalf("hour.test.js: %+v %v", r.Tests, r.Err)
		}
		b.ReportMetric(float64(r.Tests[0].DeviceMs)/1000/r.Tests[0].Wall.Seconds(), "device-s/wall-s")
	}
}

// TestHourOfDeviceTime checks that the hour scenario passes (its speed is the benchmark's
// business, not this test's).
func TestHourOfDeviceTime(t *testing.T) {
	r := runFile(t, "testdata/hour.test.js", devtest.Options{})
	if r.Failed() || len(r.Tests) != 1 || r.Tests[0].Status != devtest.Passed {
		t.Fatalf("hour.test.js: %+v %v", r.Tests, r.Err)
	}
}
