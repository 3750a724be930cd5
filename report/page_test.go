package report_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/report"
)

// externalRef matches any attribute or CSS reference that would need the network.
var externalRef = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?(https?:)?//|@import`)

// TestWriteSelfContained: the page references nothing outside itself, and hostile strings in
// the data (a topic that closes the script element, HTML in a client id) stay data.
func TestWriteSelfContained(t *testing.T) {
	hostile := `</script><script>document.title="pwned"</script><!--`
	tr, err := report.ReadTrace(strings.NewReader(`{"kind":"publish","topic":` + jsonString(hostile) + `,"clientId":"<b>x</b>"}`))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, report.Data{Title: `<i>t</i>`, Trace: tr}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if m := externalRef.FindString(page); m != "" {
		t.Errorf("page references %q", m)
	}
	if n := strings.Count(strings.ToLower(page), "</script"); n != 2 { // the data and the code elements only
		t.Errorf("%d </script in the page, want 2: hostile data closed an element", n)
	}
	if strings.Contains(page, "<i>t</i>") || strings.Contains(page, "<b>x</b>") {
		t.Error("markup from the data is not escaped")
	}
	if !strings.Contains(page, `id="report-data" type="application/json"`) {
		t.Error("no embedded data element")
	}
}

// TestNewFleetBars: the histogram's buckets become contiguous millisecond ranges holding every
// instance, in ascending order.
func TestNewFleetBars(t *testing.T) {
	var h fleet.Histogram
	for _, d := range []time.Duration{0, 500 * time.Nanosecond, 3 * time.Millisecond, 3 * time.Millisecond, 40 * time.Millisecond, 2 * time.Second} {
		h.Add(d)
	}
	f := report.NewFleet(fleet.Summary{ConnectLatency: h})
	var total uint64
	for i, b := range f.Histogram {
		total += b.Count
		if b.HiMS <= b.LoMS || (i > 0 && b.LoMS < f.Histogram[i-1].HiMS) {
			t.Errorf("bar %d [%v, %v) out of order", i, b.LoMS, b.HiMS)
		}
	}
	if total != 6 || len(f.Histogram) != 4 {
		t.Errorf("%d bars holding %d, want 4 holding 6: %+v", len(f.Histogram), total, f.Histogram)
	}
	if b := f.Histogram[1]; b.LoMS > 3 || b.HiMS <= 3 || b.Count != 2 {
		t.Errorf("3 ms bar %+v", b)
	}
	if b := f.Histogram[0]; b.LoMS != 0 || b.Count != 2 {
		t.Errorf("first bar %+v, want from 0 holding the two sub-µs latencies", b)
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
