package fleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
)

func TestParseThresholdMalformed(t *testing.T) {
	for _, text := range []string{
		"", "   ", "publish_p99", "publish_p99<", "<500ms", "publish_p99<<500ms", "publish_p99=<500ms",
		"publish_p99=500ms", "publish_p99!500ms", "publish_p99<500xs", "publish_p99<500 ms ms", "publish_p99<ms",
		"publish_p99<-5ms", "publish_p99<NaN", "publish_p99<Inf", "publish_p99<0x10", "publish_p99<1_000",
		"publish_p99<+5", "publish_p99<5%", "publish_p0<5ms", "publish_p101<5ms", "publish_p<5ms",
		"publish_pp99<5ms", "publish_p9x<5ms", "publish_p95.5.5<5ms", "publish_qos3_p99<5ms", "publish_qos_p99<5ms",
		"publish_avg<5ms", "latency<5ms", "p99<5ms", "errors_rate<0.1ms", "errors_rate<150%", "errors_rate<2",
		"errors_rate<-1%", "errors<1.5", "errors<3ms", "errors<3%", "connect_p99<2s<3s", "connect_p99 < 2 s x",
		"errors_rate<0.1%%", "connect_p99<1e999s", "connect_p99<.", "unknown_metric<1",
	} {
		_, err := fleet.ParseThreshold(text)
		if err == nil {
			t.Errorf("ParseThreshold(%q) accepted", text)
			continue
		}
		if !strings.Contains(err.Error(), `"`+text+`"`) {
			t.Errorf("ParseThreshold(%q): error %q does not name it", text, err)
		}
	}
}

func TestParseThreshold(t *testing.T) {
	for _, tc := range []struct {
		text, metric, op string
		value            float64
	}{
		{"publish_p99<500ms", "publish_p99", "<", 500},
		{"publish_p99<500", "publish_p99", "<", 500},
		{" connect_p99 <= 2s ", "connect_p99", "<=", 2000},
		{"connect_max<1m", "connect_max", "<", 60000},
		{"publish_qos1_p99.9<250us", "publish_qos1_p99.9", "<", 0.25},
		{"publish_qos0_p50>=1e3ms", "publish_qos0_p50", ">=", 1000},
		{"errors_rate<0.1%", "errors_rate", "<", 0.001},
		{"errors_rate<0.001", "errors_rate", "<", 0.001},
		{"publish_errors_rate<=1 %", "publish_errors_rate", "<=", 0.01},
		{"errors==0", "errors", "==", 0},
		{"in_flight_at_end!=3", "in_flight_at_end", "!=", 3},
		{"connections_lost>10", "connections_lost", ">", 10},
		{"recovery_max<30s", "recovery_max", "<", 30000},
		{"publish_p100<.5s", "publish_p100", "<", 500},
	} {
		th, err := fleet.ParseThreshold(tc.text)
		if err != nil {
			t.Errorf("ParseThreshold(%q): %v", tc.text, err)
			continue
		}
		if th.Metric != tc.metric || th.Op != tc.op || th.Value != tc.value || th.Text != tc.text {
			t.Errorf("ParseThreshold(%q) = %+v, want %s %s %v", tc.text, th, tc.metric, tc.op, tc.value)
		}
	}
}

func TestEvaluateThresholds(t *testing.T) {
	s := fleet.Summary{Version: fleet.SummaryVersion, FleetSize: 10, Instances: 10,
		ConnectLatency: histogramOf(10*time.Millisecond, 20*time.Millisecond, 3*time.Second),
		Errors:         map[string]uint64{"publish:11": 2, "error:1": 1},
		ElapsedSeconds: 100,
	}
	s.PublishAttempts, s.PublishErrors = 990, 2
	s.PublishLatency = map[string]fleet.Histogram{"qos1": histogramOf(time.Millisecond, 2*time.Millisecond, 400*time.Millisecond)}
	s.Storms = []fleet.Storm{{StartSeconds: 10, RecoverySeconds: 4, Recovered: true}, {StartSeconds: 90, Recovered: false}}
	merged, err := fleet.Merge(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text         string
		held, noData bool
		value        float64
	}{
		{"publish_p99<500ms", true, false, -1},
		{"publish_p99<300ms", false, false, -1},
		{"publish_qos1_max<=400ms", true, false, 400},
		{"publish_qos0_p99<1s", false, true, 0},
		{"publish_qos2_max>=0", false, true, 0},
		{"connect_p99<2s", false, false, -1},
		{"connect_p50<2s", true, false, -1},
		{"errors_rate<0.1%", false, false, 0.003},
		{"errors_rate<1%", true, false, 0.003},
		{"publish_errors_rate<0.3%", true, false, 2.0 / 990},
		{"errors==3", true, false, 3},
		{"errors<3", false, false, 3},
		{"recovery_max<5s", false, false, 10000}, // the second storm is still down: 100-90 s
		{"recovery_max<11s", true, false, 10000},
	} {
		th, err := fleet.ParseThreshold(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		for _, sum := range []fleet.Summary{s, merged} {
			r := th.Evaluate(sum)
			if r.Held != tc.held || r.NoData != tc.noData || (tc.value >= 0 && (r.Value < tc.value*0.999 || r.Value > tc.value*1.001)) {
				t.Errorf("%s = %+v, want held %v no data %v value %v", tc.text, r, tc.held, tc.noData, tc.value)
			}
			if r.Threshold != tc.text {
				t.Errorf("result names %q, want %q", r.Threshold, tc.text)
			}
		}
	}
	ts, err := fleet.ParseThresholds([]string{"errors<10", "errors_rate<0.1%"})
	if err != nil {
		t.Fatal(err)
	}
	rs := fleet.EvaluateThresholds(ts, merged)
	if len(rs) != 2 || !rs[0].Held || rs[1].Held || len(fleet.Crossed(rs)) != 1 {
		t.Errorf("results %+v", rs)
	}
	if _, err := fleet.ParseThresholds([]string{"errors<10", "bad"}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("ParseThresholds with a bad one: %v", err)
	}
	merged.Thresholds = rs
	var b strings.Builder
	merged.WriteText(&b)
	for _, want := range []string{"thresholds: 1 of 2 crossed", "errors<10: 3, held", "errors_rate<0.1%: 0.3 %, CROSSED"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text summary lacks %q:\n%s", want, b.String())
		}
	}
}
