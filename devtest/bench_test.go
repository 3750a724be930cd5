package devtest_test

import (
	"context"
	"testing"

	"github.com/devicejs/devicejs/devtest"
)

// BenchmarkHourOfDeviceTime runs testdata/hour.test.js: one hour of device time of sample 5
// (a QoS 1 publish every 15 s) with a broker restart, on virtual time. The target is under 5 s
// of wall time per op on the 2-core CI machine (docs/testing.md has the measured figure).
func BenchmarkHourOfDeviceTime(b *testing.B) { benchHour(b, "testdata/hour.test.js") }

// BenchmarkHourPublisher3G is issue 18's figure: one hour of device time of a 10-s QoS 1
// publisher over the 3g link profile (target: at most 1 s of wall time per op).
func BenchmarkHourPublisher3G(b *testing.B) { benchHour(b, "testdata/bench/hour3g.test.js") }

// BenchmarkHourPublisherNoLink is the same publisher without link conditions (target: at most
// 0.3 s of wall time per op).
func BenchmarkHourPublisherNoLink(b *testing.B) { benchHour(b, "testdata/bench/hour.test.js") }

func benchHour(b *testing.B, file string) {
	for i := 0; i < b.N; i++ {
		r := devtest.RunFile(context.Background(), file, devtest.Options{})
		if r.Failed() || len(r.Tests) != 1 || r.Tests[0].Status != devtest.Passed {
			b.Fatalf("%s: %+v %v", file, r.Tests, r.Err)
		}
		b.ReportMetric(float64(r.Tests[0].DeviceMs)/1000/r.Tests[0].Wall.Seconds(), "device-s/wall-s")
	}
}

// TestHourOfDeviceTime checks that the hour scenarios pass (their speed is the benchmarks'
// business, not this test's).
func TestHourOfDeviceTime(t *testing.T) {
	for _, f := range []string{"testdata/hour.test.js", "testdata/bench/hour3g.test.js", "testdata/bench/hour.test.js"} {
		r := runFile(t, f, devtest.Options{})
		if r.Failed() || len(r.Tests) != 1 || r.Tests[0].Status != devtest.Passed {
			t.Fatalf("%s: %+v %v", f, r.Tests, r.Err)
		}
	}
}
