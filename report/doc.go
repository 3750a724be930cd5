// Package report renders the HTML report of devicejs runs: one self-contained page (styles,
// script and data embedded; no network needed to open it) with a swim-lane timeline of a
// --trace-json trace and the charts of a fleet summary, and serves the same page live while a
// run goes on (Live, server-sent events). See docs/report.md.
package report
