package link

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	ms := time.Millisecond
	tt := []struct {
		name string
		spec string
		want Conditions
	}{
		{"fields", "latency=200ms,jitter=50ms,loss=1%,bandwidth=256kbit", Conditions{Latency: 200 * ms, Jitter: 50 * ms, Loss: 0.01, Bandwidth: 32000}},
		{"latency only", "latency=200ms", Conditions{Latency: 200 * ms}},
		{"loss as fraction", "loss=0.05", Conditions{Loss: 0.05}},
		{"bandwidth bytes", "bandwidth=64kB", Conditions{Bandwidth: 64000}},
		{"bandwidth bytes per second", "bandwidth=1MB/s", Conditions{Bandwidth: 1000000}},
		{"bandwidth mbit", "bandwidth=1.5mbit", Conditions{Bandwidth: 187500}},
		{"bandwidth zero is unlimited", "bandwidth=0bit", Conditions{}},
		{"spaces and case", " Latency = 10ms , LOSS=2% ", Conditions{Latency: 10 * ms, Loss: 0.02}},
		{"profile", "lte", Profiles()["lte"]},
		{"profile with override", "3g,loss=5%", func() Conditions { c := Profiles()["3g"]; c.Loss = 0.05; return c }()},
		{"profile overriding latency", "satellite,latency=0s", func() Conditions { c := Profiles()["satellite"]; c.Latency = 0; return c }()},
		{"none", "none", Conditions{}},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.spec, err)
			}
			if got != tc.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
		})
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	tt := []struct {
		spec, field string
	}{
		{"", "profile"},
		{"latency=fast", `"latency"`},
		{"latency=-5ms", `"latency"`},
		{"latency=2h", `"latency"`},
		{"jitter=1", `"jitter"`},
		{"loss=150%", `"loss"`},
		{"loss=100%", `"loss"`},
		{"loss=-1%", `"loss"`},
		{"loss=NaN", `"loss"`},
		{"loss=abc", `"loss"`},
		{"bandwidth=256", `"bandwidth"`},
		{"bandwidth=kbit", `"bandwidth"`},
		{"bandwidth=-1kbit", `"bandwidth"`},
		{"bandwidth=1bit", `"bandwidth"`},
		{"bandwidth=1e20gbit", `"bandwidth"`},
		{"bandwidth=Infmbit", `"bandwidth"`},
		{"speed=1mbit", `"speed"`},
		{"5g", `"5g"`},
		{"latency=1ms,lte", `"lte"`},
		{"latency=1ms,latency=2ms", `"latency"`},
		{"latency", `"latency"`},
		{",", `""`},
	}
	for _, tc := range tt {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := Parse(tc.spec)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error", tc.spec)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Parse(%q) error %q does not name %s", tc.spec, err, tc.field)
			}
		})
	}
}

func TestStringRoundTrips(t *testing.T) {
	cases := []Conditions{
		{},
		{Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond, Loss: 0.01, Bandwidth: 32000},
		{Loss: 0.001},
		{Bandwidth: 1},
		{Bandwidth: 125},
		{Bandwidth: 123457},
	}
	for name, c := range Profiles() {
		if err := c.Validate(); err != nil {
			t.Errorf("profile %s: %v", name, err)
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		got, err := Parse(c.String())
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.String(), err)
		}
		if got != c {
			t.Fatalf("Parse(%q) = %+v, want %+v", c.String(), got, c)
		}
	}
	if s := (Conditions{}).String(); s != "none" {
		t.Fatalf("zero Conditions = %q, want none", s)
	}
}

func TestRTO(t *testing.T) {
	tt := []struct {
		c    Conditions
		want time.Duration
	}{
		{Conditions{}, MinRTO},
		{Conditions{Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond}, MinRTO},
		{Conditions{Latency: 300 * time.Millisecond, Jitter: 20 * time.Millisecond}, 620 * time.Millisecond},
	}
	for _, tc := range tt {
		if got := tc.c.RTO(); got != tc.want {
			t.Errorf("%v RTO = %v, want %v", tc.c, got, tc.want)
		}
	}
}
