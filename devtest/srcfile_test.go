package devtest_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/devicejs/devicejs/devtest"
)

// TestSourceShapes (issue 17 findings 5, 6): test files and the scripts device.start names
// must be regular files of at most 16 MiB, from Options.FS as from the OS filesystem; the rest
// fails the file or the test at once, with the path and the kind of file.
func TestSourceShapes(t *testing.T) {
	big := make([]byte, 17<<20)
	fsys := fstest.MapFS{
		"fifo.js":          {Mode: fs.ModeNamedPipe},
		"dev.js":           {Mode: fs.ModeDevice | fs.ModeCharDevice},
		"sock.js":          {Mode: fs.ModeSocket},
		"dir.js/x":         {Data: []byte("x")},
		"big.js":           {Data: big},
		"fifo.test.js":     {Mode: fs.ModeNamedPipe},
		"big.test.js":      {Data: big},
		"starts.test.js":   {Data: []byte(starts("fifo.js", "dev.js", "sock.js", "dir.js", "big.js"))},
		"dir.test.js/file": {Data: []byte("x")},
	}
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := syscall.Mkfifo(p("fifo.js"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p("fifo.test.js"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p("dir.js"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("big.js"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("starts.test.js"), []byte(starts("fifo.js", "/dev/zero", "dir.js", "big.js")), 0o644); err != nil {
		t.Fatal(err)
	}
	wants := map[string]string{
		"fifo.js": "not a regular file (a FIFO)", "dev.js": "not a regular file (a character device)",
		"/dev/zero": "not a regular file (a character device)", "sock.js": "not a regular file (a socket)",
		"dir.js": "not a regular file (a directory)", "big.js": "larger than the source limit of 16777216 bytes",
	}
	for _, tc := range []struct {
		name string
		opts devtest.Options
		file string
	}{
		{"FS", devtest.Options{FS: fsys, Timeout: 5 * time.Second}, "starts.test.js"},
		{"OS", devtest.Options{Timeout: 5 * time.Second}, p("starts.test.js")},
	} {
		t.Run(tc.name+" device.start", func(t *testing.T) {
			r := devtest.RunFile(context.Background(), tc.file, tc.opts)
			if r.Err != nil || len(r.Tests) == 0 {
				t.Fatalf("file error %v, %d tests", r.Err, len(r.Tests))
			}
			for _, tr := range r.Tests {
				if tr.Status != devtest.Failed || !strings.Contains(tr.Message, "device.start: ") ||
					!strings.Contains(tr.Message, tr.Name+": "+wants[tr.Name]) {
					t.Errorf("%s: %s %q, want it to fail with %q", tr.Name, tr.Status, tr.Message, wants[tr.Name])
				}
				if tr.Wall > 5*time.Second {
					t.Errorf("%s: took %v", tr.Name, tr.Wall)
				}
			}
		})
	}
	for _, tc := range []struct {
		name, file, want string
		opts             devtest.Options
	}{
		{"FS FIFO", "fifo.test.js", "fifo.test.js: not a regular file (a FIFO)", devtest.Options{FS: fsys}},
		{"FS 17 MiB", "big.test.js", "big.test.js: larger than the source limit of 16777194 bytes", devtest.Options{FS: fsys}},
		{"FS directory", "dir.test.js", "dir.test.js: not a regular file (a directory)", devtest.Options{FS: fsys}},
		{"OS FIFO", p("fifo.test.js"), "fifo.test.js: not a regular file (a FIFO)", devtest.Options{}},
		{"OS /dev/zero", "/dev/zero", "/dev/zero: not a regular file (a character device)", devtest.Options{}},
		{"OS directory", dir, dir + ": not a regular file (a directory)", devtest.Options{}},
	} {
		t.Run(tc.name+" test file", func(t *testing.T) {
			r := devtest.RunFile(context.Background(), tc.file, tc.opts)
			if r.Err == nil || !strings.Contains(r.Err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", r.Err, tc.want)
			}
		})
	}
}

// starts is a test file with one test per path, named after it, that starts it as a device.
func starts(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		b.WriteString("test('" + p + "', function() { device.start('" + p + "'); });\n")
	}
	return b.String()
}
