package conformance

import (
	"strings"
	"testing"
	"time"
)

// TestPlannedBrokerColumn checks that the TLS samples, which run on --tls-broker, are shown
// with that address, and the others with --broker (issue 12 item 4).
func TestPlannedBrokerColumn(t *testing.T) {
	env := &Env{Kinds: []string{"127.0.0.1:1883"}, User: &UserBroker{Addr: "127.0.0.1:1883", TLSAddr: "127.0.0.1:8883"}}
	tls := map[string]bool{}
	for _, s := range Samples() {
		tls[s.File] = s.TLS
	}
	n := 0
	for _, o := range planned(env) {
		want := "127.0.0.1:1883"
		if tls[o.Sample] {
			want = "127.0.0.1:8883"
			n++
		}
		if o.Addr != want || o.Kind != "127.0.0.1:1883" {
			t.Errorf("%s %s: Addr %q Kind %q, want Addr %q", o.Scenario, o.Sample, o.Addr, o.Kind, want)
		}
	}
	if n == 0 {
		t.Fatal("no TLS sample planned")
	}
	env.User.TLSAddr = ""
	for _, o := range planned(env) {
		if o.Addr != "127.0.0.1:1883" {
			t.Errorf("without --tls-broker %s %s shows %q", o.Scenario, o.Sample, o.Addr)
		}
	}
}

// TestTableColumnsAligned checks that long broker addresses and names keep every column of
// the table aligned with its header.
func TestTableColumnsAligned(t *testing.T) {
	outcomes := []Outcome{
		{Scenario: "up", Sample: "sample1.js", Kind: "embedded", Wall: time.Second},
		{Scenario: "up", Sample: "sample3.js", Kind: "rabbitmq.internal.example.com:1883", Addr: "rabbitmq.internal.example.com:8883", Wall: time.Second},
		{Scenario: "restart-with-a-long-name", Sample: "sample5.js", Kind: "[::1]:1883", Failed: true},
		{Scenario: "down", Sample: "a-much-longer-sample-name.js", Kind: "x:1", Skipped: "needs control of the broker"},
	}
	lines := strings.Split(Table(outcomes), "\n")
	at := strings.Index(lines[0], "RESULT")
	for _, l := range lines[1 : 1+len(outcomes)] {
		f := strings.Fields(l)
		if len(f) != 5 {
			t.Fatalf("row %q: %d fields, want 5", l, len(f))
		}
		if got := strings.Index(l, " "+f[3]+" ") + 1; got != at {
			t.Errorf("row %q: RESULT at column %d, header at %d", l, got, at)
		}
	}
	if !strings.Contains(lines[2], "rabbitmq.internal.example.com:8883") {
		t.Errorf("the TLS row does not show its TLS address: %q", lines[2])
	}
}
