package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/devicejs/devicejs/devtest"
	"github.com/devicejs/devicejs/report"
)

// testReportData is the report of `devicejs test --report`: the traces of every device of
// every test, each record marked with the index of its test in Trace.Tests (which names each
// test once: a name is not copied into every record) and with its device's script, so that
// the page gives each test its own lanes. t is the test's device time (each test starts at 0).
func testReportData(results []devtest.FileResult) report.Data {
	d := report.Data{Title: "devicejs test", Trace: &report.Trace{Events: []map[string]any{}}}
	for _, f := range results {
		for _, tr := range f.Tests {
			k := -1
			for _, dev := range tr.Devices {
				if len(dev.Trace) == 0 {
					continue
				}
				if k < 0 {
					k = len(d.Trace.Tests)
					d.Trace.Tests = append(d.Trace.Tests, report.TestGroup{Name: filepath.Base(tr.File) + ": " + tr.Name, Status: string(tr.Status)})
				}
				first := dev.Trace[0]
				zero := first.Event.Time.Add(-time.Duration(first.AtMs) * time.Millisecond)
				var buf bytes.Buffer
				rec := &tracer{start: zero, enc: json.NewEncoder(&buf)} // the --trace-json format
				for _, e := range dev.Trace {
					rec.write(e.Event)
				}
				parsed, _ := report.ReadTrace(&buf)
				for _, ev := range parsed.Events {
					ev["testIndex"], ev["script"] = k, dev.Script
				}
				d.Trace.Events = append(d.Trace.Events, parsed.Events...)
			}
		}
	}
	return d
}
