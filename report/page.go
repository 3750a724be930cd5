package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/devicejs/devicejs/fleet"
)

var (
	//go:embed assets/page.html
	pageHTML string
	//go:embed assets/report.css
	reportCSS string
	//go:embed assets/report.js
	reportJS string

	// pageTemplate is parsed when the first page is written, not at init, so that a process
	// that writes no page (every `devicejs run`) does not pay for it.
	pageTemplate = sync.OnceValue(func() *template.Template {
		return template.Must(template.New("page").Parse(pageHTML))
	})
)

// Data is what one report shows: a trace, a fleet, or both. It is embedded in the page as JSON
// (the page's script draws it), and sent as JSON to live pages.
type Data struct {
	Title     string `json:"title"`
	Generated string `json:"generated"` // wall time the data was taken, RFC 3339
	Live      bool   `json:"live"`      // the page follows /events (Live)
	Trace     *Trace `json:"trace,omitempty"`
	Fleet     *Fleet `json:"fleet,omitempty"`
}

// Fleet is a fleet summary as the page draws it.
type Fleet struct {
	Summary   fleet.Summary `json:"summary"`
	Histogram []Bar         `json:"histogram"` // connect latency, ascending
}

// Bar is one bucket of the connect-latency histogram: Count instances connected within
// [LoMS, HiMS) milliseconds.
type Bar struct {
	LoMS  float64 `json:"lo_ms"`
	HiMS  float64 `json:"hi_ms"`
	Count uint64  `json:"count"`
}

// NewFleet prepares s for the page: the histogram's logarithmic buckets as bars in milliseconds.
func NewFleet(s fleet.Summary) *Fleet {
	f := &Fleet{Summary: s, Histogram: []Bar{}}
	keys := make([]int, 0, len(s.ConnectLatency.Buckets))
	for b := range s.ConnectLatency.Buckets {
		keys = append(keys, b)
	}
	slices.Sort(keys)
	for _, b := range keys {
		lo, hi := bucketBounds(b)
		f.Histogram = append(f.Histogram, Bar{LoMS: lo, HiMS: hi, Count: s.ConnectLatency.Buckets[b]})
	}
	return f
}

// bucketBounds returns bucket b's range in milliseconds (fleet.Histogram: floor(8·log2 µs) = b;
// bucket 0 also holds everything under 1 µs).
func bucketBounds(b int) (lo, hi float64) {
	us := func(x int) float64 { return pow2(float64(x) / 8) }
	lo = us(b) / 1000
	if b == 0 {
		lo = 0
	}
	return lo, us(b+1) / 1000
}

// Write renders d as one self-contained HTML page. Generated is set to now when empty. Data
// that JSON cannot encode (an infinite or NaN number) is an error and nothing is written: the
// page would have nothing to draw.
func Write(w io.Writer, d Data) error {
	d = withDefaults(d)
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("report: the data cannot be written as JSON: %w", err)
	}
	return writePage(w, d.Title, d.Generated, b)
}

// withDefaults sets Generated to now when empty and an empty Title to "devicejs report".
func withDefaults(d Data) Data {
	if d.Generated == "" {
		d.Generated = time.Now().UTC().Format(time.RFC3339)
	}
	if d.Title == "" {
		d.Title = "devicejs report"
	}
	return d
}

// writePage renders the page around dataJSON, the json.Marshal of its Data. It goes into the
// page's data element as it is: json.Marshal escapes <, > and & (and U+2028, U+2029), so no
// string of the data can end the element or open a comment, and the data is encoded once
// (html/template would encode and escape it again).
func writePage(w io.Writer, title, generated string, dataJSON []byte) error {
	return pageTemplate().Execute(w, struct {
		Title, Generated string
		JSON             template.JS
		CSS              template.CSS
		JS               template.JS
	}{title, generated, template.JS(dataJSON), template.CSS(reportCSS), template.JS(reportJS)})
}
