package devicejs

import "embed"

// ConformanceFiles holds the conformance scenarios (testdata/conformance/*.test.js) and the
// six documented samples they start (testdata/samples/*.js, the vendor's files byte for byte),
// so that `devicejs conformance` carries them in its binary. The scenarios' device.start
// paths ("../samples/sample1.js") resolve inside it: run them with devtest.Options.FS.
//
// It lives in the root package because go:embed patterns cannot contain "..": only a package
// whose folder holds testdata/ can embed these single copies.
//
//go:embed testdata/conformance/*.test.js testdata/samples/*.js
var ConformanceFiles embed.FS
