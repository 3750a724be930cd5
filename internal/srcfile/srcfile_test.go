package srcfile_test

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/devicejs/devicejs/internal/srcfile"
)

// shapes builds the files of the table in dir and returns their paths by name.
func shapes(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	write := func(n string, size int) {
		if err := os.WriteFile(p(n), []byte(strings.Repeat("a", size)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("empty.js", 0)
	write("one.js", 1)
	write("at-limit.js", srcfile.MaxBytes)
	write("past-limit.js", srcfile.MaxBytes+1)
	write("big.js", 17<<20)
	if err := os.Mkdir(p("dir.js"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"fifo.js", "fifo-writer.js"} {
		if err := syscall.Mkfifo(p(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A writer that never stops: it opens the FIFO as soon as a reader has it open (a
	// non-blocking open for writing fails until then) and writes until the test ends.
	writeFIFO(t, p("fifo-writer.js"))
	l, err := net.Listen("unix", p("sock.js"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, s := range []struct{ name, target string }{
		{"link.js", p("one.js")}, {"link-zero.js", "/dev/zero"}, {"link-fifo.js", p("fifo.js")},
		{"loop1.js", p("loop2.js")}, {"loop2.js", p("loop1.js")}, {"dangling.js", p("missing.js")},
	} {
		if err := os.Symlink(s.target, p(s.name)); err != nil {
			t.Fatal(err)
		}
	}
	m := map[string]string{"/dev/zero": "/dev/zero", "/dev/null": "/dev/null", "/dev/urandom": "/dev/urandom"}
	for _, n := range []string{"empty.js", "one.js", "at-limit.js", "past-limit.js", "big.js", "dir.js", "fifo.js",
		"fifo-writer.js", "sock.js", "link.js", "link-zero.js", "link-fifo.js", "loop1.js", "dangling.js", "missing.js"} {
		m[n] = p(n)
	}
	return m
}

// writeFIFO keeps writing to the FIFO at path, whenever a reader has it open, until the test
// ends.
func writeFIFO(t *testing.T, path string) {
	var mu sync.Mutex
	var w *os.File
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				continue // ENXIO: no reader yet
			}
			mu.Lock()
			w = f
			mu.Unlock()
			for {
				if _, err := f.Write(buf); err != nil {
					break
				}
			}
			f.Close()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		mu.Lock()
		if w != nil {
			w.Close()
		}
		mu.Unlock()
		<-done
	})
}

func TestRead(t *testing.T) {
	files := shapes(t)
	tt := []struct {
		name string
		size int    // bytes read, when want is ""
		want string // part of the error
		is   error
	}{
		{name: "empty.js", size: 0},
		{name: "one.js", size: 1},
		{name: "at-limit.js", size: srcfile.MaxBytes},
		{name: "link.js", size: 1},
		{name: "past-limit.js", want: "past-limit.js: larger than the source limit of 16777216 bytes", is: srcfile.ErrTooLarge},
		{name: "big.js", want: "big.js: larger than the source limit", is: srcfile.ErrTooLarge},
		{name: "dir.js", want: "dir.js: not a regular file (a directory)", is: srcfile.ErrNotRegular},
		{name: "fifo.js", want: "fifo.js: not a regular file (a FIFO)", is: srcfile.ErrNotRegular},
		{name: "fifo-writer.js", want: "fifo-writer.js: not a regular file (a FIFO)", is: srcfile.ErrNotRegular},
		{name: "link-fifo.js", want: "link-fifo.js: not a regular file (a FIFO)", is: srcfile.ErrNotRegular},
		{name: "sock.js", want: "sock.js: not a regular file (a socket)", is: srcfile.ErrNotRegular},
		{name: "/dev/zero", want: "/dev/zero: not a regular file (a character device)", is: srcfile.ErrNotRegular},
		{name: "/dev/null", want: "/dev/null: not a regular file (a character device)", is: srcfile.ErrNotRegular},
		{name: "/dev/urandom", want: "/dev/urandom: not a regular file (a character device)", is: srcfile.ErrNotRegular},
		{name: "link-zero.js", want: "link-zero.js: not a regular file (a character device)", is: srcfile.ErrNotRegular},
		{name: "loop1.js", want: "too many levels of symbolic links"},
		{name: "dangling.js", want: "no such file or directory", is: fs.ErrNotExist},
		{name: "missing.js", want: "no such file or directory", is: fs.ErrNotExist},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			b, err := srcfile.Read(files[tc.name])
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v", el)
			}
			if tc.want == "" {
				if err != nil || len(b) != tc.size {
					t.Fatalf("got %d bytes, %v; want %d bytes", len(b), err, tc.size)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, not %v", err, tc.is)
			}
		})
	}
}

// TestReadLimitLyingSize: /proc files are regular but report size 0 whatever they hold; the
// limited reader still stops at the bound.
func TestReadLimitLyingSize(t *testing.T) {
	for _, p := range []string{"/proc/self/maps", "/proc/self/status", "/proc/self/environ"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		_, err := srcfile.ReadLimit(p, 8)
		if !errors.Is(err, srcfile.ErrTooLarge) {
			t.Errorf("%s: err = %v, want ErrTooLarge", p, err)
		}
	}
	b, err := srcfile.ReadLimit("/proc/self/status", 1<<20)
	if err != nil || len(b) == 0 {
		t.Errorf("/proc/self/status: %d bytes, %v", len(b), err)
	}
}

// endless is a file whose Stat says 10 bytes and which reads without end.
type endless struct{ fs.FileInfo }

func (endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'a'
	}
	return len(b), nil
}
func (e endless) Stat() (fs.FileInfo, error) { return e.FileInfo, nil }
func (endless) Close() error                 { return nil }

// lyingFS serves "lie.js" as an endless file that claims 10 bytes, and the rest from m.
type lyingFS struct{ m fstest.MapFS }

func (l lyingFS) Open(name string) (fs.File, error) {
	if name == "lie.js" {
		st, _ := l.m.Stat("ten.js")
		return endless{st}, nil
	}
	return l.m.Open(name)
}

func TestReadFS(t *testing.T) {
	m := fstest.MapFS{
		"ten.js":      {Data: []byte("aaaaaaaaaa")},
		"empty.js":    {Data: nil},
		"dir/a.js":    {Data: []byte("a")},
		"fifo.js":     {Mode: fs.ModeNamedPipe},
		"dev.js":      {Mode: fs.ModeDevice | fs.ModeCharDevice},
		"sock.js":     {Mode: fs.ModeSocket},
		"at-limit.js": {Data: make([]byte, 100)},
		"past.js":     {Data: make([]byte, 101)},
	}
	tt := []struct {
		name string
		size int
		want string
	}{
		{name: "ten.js", size: 10},
		{name: "empty.js", size: 0},
		{name: "at-limit.js", size: 100},
		{name: "past.js", want: "past.js: larger than the source limit of 100 bytes"},
		{name: "lie.js", want: "lie.js: larger than the source limit of 100 bytes"},
		{name: "dir", want: "dir: not a regular file (a directory)"},
		{name: "fifo.js", want: "fifo.js: not a regular file (a FIFO)"},
		{name: "dev.js", want: "dev.js: not a regular file (a character device)"},
		{name: "sock.js", want: "sock.js: not a regular file (a socket)"},
		{name: "missing.js", want: "file does not exist"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			b, err := srcfile.ReadFS(lyingFS{m}, tc.name, 100)
			if tc.want == "" {
				if err != nil || len(b) != tc.size {
					t.Fatalf("got %d bytes, %v; want %d bytes", len(b), err, tc.size)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// os.DirFS opens with a blocking open: the Stat before the open must catch the FIFO.
	files := shapes(t)
	dir := filepath.Dir(files["fifo.js"])
	for _, n := range []string{"fifo.js", "fifo-writer.js", "sock.js", "dir.js", "link-zero.js", "big.js"} {
		if _, err := srcfile.ReadFS(os.DirFS(dir), n, srcfile.MaxBytes); err == nil {
			t.Errorf("DirFS %s: read", n)
		}
	}
	if b, err := srcfile.ReadFS(os.DirFS(dir), "link.js", srcfile.MaxBytes); err != nil || len(b) != 1 {
		t.Errorf("DirFS link.js: %d bytes, %v", len(b), err)
	}
}
