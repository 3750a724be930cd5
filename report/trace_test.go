package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/report"
)

// TestReadTrace: today's records, packet events with fields this version does not know, and
// every shape of damaged input a trace file of an earlier or killed run may have.
func TestReadTrace(t *testing.T) {
	long := `{"kind":"publish","topic":"` + strings.Repeat("x", 2<<20) + `"}`
	tt := []struct {
		name    string
		in      string
		kinds   []string
		skipped int
	}{
		{"empty", "", nil, 0},
		{"blank lines", "\n\n  \r\n", nil, 0},
		{"today's records", `{"t":0,"time":"2026-12-04T10:00:00Z","kind":"connect_attempt","clientId":"c","broker":"mqtt://b:1883"}
{"t":0.01,"kind":"connack","clientId":"c","broker":"mqtt://b:1883","returnCode":0}`, []string{"connect_attempt", "connack"}, 0},
		{"packet events and unknown fields", `{"t":1,"kind":"packet","packet":"PUBLISH","dir":"out","packetId":7,"future":{"a":[1,2]}}
{"t":1.2,"kind":"packet","packet":"PUBACK","dir":"in","packetId":7}`, []string{"packet", "packet"}, 0},
		{"CRLF line ends", "{\"kind\":\"end\"}\r\n{\"kind\":\"close\"}\r\n", []string{"end", "close"}, 0},
		{"truncated last line", `{"kind":"end"}` + "\n" + `{"kind":"pub`, []string{"end"}, 1},
		{"not objects", "[1,2]\n42\nnull\n\"s\"\n{\"kind\":\"end\"}", []string{"end"}, 4},
		{"trailing garbage", `{"kind":"end"} {"kind":"x"}` + "\n" + `{"kind":"close"}`, []string{"close"}, 1},
		{"binary noise", "\x00\xff\xfe{{{\n{\"kind\":\"end\"}", []string{"end"}, 1},
		{"a line over 1 MiB", long + "\n{\"kind\":\"end\"}", []string{"end"}, 1},
		{"no final newline", `{"kind":"end"}`, []string{"end"}, 0},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := report.ReadTrace(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, e := range tr.Events {
				kinds = append(kinds, e["kind"].(string))
			}
			if strings.Join(kinds, ",") != strings.Join(tc.kinds, ",") || tr.Skipped != tc.skipped {
				t.Errorf("kinds %v skipped %d, want %v skipped %d", kinds, tr.Skipped, tc.kinds, tc.skipped)
			}
		})
	}
}

// TestReadTraceKeepsNumbers: numbers are written back exactly as read (no float rounding of
// large packet ids or nanosecond offsets).
func TestReadTraceKeepsNumbers(t *testing.T) {
	tr, err := report.ReadTrace(strings.NewReader(`{"kind":"x","big":12345678901234567890,"t":0.000000001}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Events[0]["big"]; got == nil || strings.TrimSpace(toString(got)) != "12345678901234567890" {
		t.Errorf("big = %v", got)
	}
}

func toString(v any) string {
	if s, ok := v.(interface{ String() string }); ok {
		return s.String()
	}
	return ""
}

// TestEarlierRunTraces: trace files written by earlier versions of devicejs (testdata, named
// after the commit whose binary wrote them: sample 5, 40 s on the embedded broker) are read
// whole and make a page.
func TestEarlierRunTraces(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "trace-*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata traces: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := report.ReadTrace(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(string(b), "\n")
		if len(tr.Events) != lines || tr.Skipped != 0 || tr.Events[0]["kind"] != "connect_attempt" {
			t.Errorf("%s: %d events, %d skipped, want %d lines", name, len(tr.Events), tr.Skipped, lines)
		}
		var page bytes.Buffer
		if err := report.Write(&page, report.Data{Trace: tr}); err != nil || !strings.Contains(page.String(), `"kind":"publish_done"`) {
			t.Errorf("%s: page %v", name, err)
		}
	}
}
