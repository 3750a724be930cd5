package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/devicejs/devicejs/devtest"
	"github.com/devicejs/devicejs/report"
)

// testReportData is the report of `devicejs test --report`: the files that ran and every test
// of them in file order (Trace.Tests: each named once, with its status, failure message and
// device time), and the traces of every device of every test, each record marked with the
// index of its test in Trace.Tests (a name is not copied into every record) and with its
// device's script. The page draws one section per test with that test's lanes only; t is the
// test's device time (each test starts at 0).
func testReportData(results []devtest.FileResult) report.Data {
	d := report.Data{Title: "devicejs test", Trace: &report.Trace{Events: []map[string]any{}, TestFiles: []report.TestFile{}}}
	for _, f := range results {
		tf := report.TestFile{Name: f.File}
		if f.Err != nil {
			tf.Error = f.Err.Error()
		}
		d.Trace.TestFiles = append(d.Trace.TestFiles, tf)
		for _, tr := range f.Tests {
			k := len(d.Trace.Tests)
			d.Trace.Tests = append(d.Trace.Tests, report.TestGroup{Name: filepath.Base(tr.File) + ": " + tr.Name,
				Status: string(tr.Status), Message: tr.Message, DeviceMs: tr.DeviceMs})
			for _, dev := range tr.Devices {
				if len(dev.Trace) == 0 {
					continue
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
