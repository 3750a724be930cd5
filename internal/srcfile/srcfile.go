// Package srcfile reads the JavaScript files devicejs runs (device scripts, test files): regular
// files only, at most sandbox.MaxSourceBytes, through a reader that stops at that bound. Every
// path that reads a script or a test file goes through it: `devicejs run`, `fleet`, `check`,
// `test`, devtest's device.start and the root package's ScriptFile.
//
// A FIFO, a device (/dev/zero), a directory or a socket is refused with an error naming the
// path and the kind of file, before anything is read; a FIFO is opened without blocking
// (O_NONBLOCK) and checked with fstat after the open, so a FIFO swapped in between the check and
// the open is refused too and never blocks open or read. A symlink to a regular file is read.
package srcfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/devicejs/devicejs/runtime/sandbox"
)

// MaxBytes is the size bound of a source file: sandbox.MaxSourceBytes (16 MiB), the longest
// source goja's parser is given.
const MaxBytes = sandbox.MaxSourceBytes

// ErrNotRegular is wrapped by the error for a path that is not a regular file (errors.Is).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the error for a file longer than the bound (errors.Is).
var ErrTooLarge = errors.New("larger than the source limit")

// Read reads the file at path from the OS filesystem: a regular file (or a symlink to one) of
// at most MaxBytes. It never blocks on a FIFO, and reads at most MaxBytes+1 bytes whatever the
// file's size says (a file that grows while it is read is still refused).
func Read(path string) ([]byte, error) {
	return ReadLimit(path, MaxBytes)
}

// ReadLimit is Read with a bound of limit bytes (at most MaxBytes, e.g. less the length of
// text the caller appends).
func ReadLimit(path string, limit int64) ([]byte, error) {
	// Stat first: a socket cannot be opened at all (ENXIO), and a FIFO is named as one.
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(path, st, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may have been replaced since the Stat: check what was opened.
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := check(path, st, limit); err != nil {
		return nil, err
	}
	return readAll(path, f, limit)
}

// ReadFS reads name from fsys with the same checks as Read: fs.Stat must report a regular
// file of at most limit bytes before the file is opened (os.DirFS opens a FIFO with a blocking
// open), the opened file's Stat again, and at most limit+1 bytes are read.
func ReadFS(fsys fs.FS, name string, limit int64) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if err := check(name, st, limit); err != nil {
		return nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := check(name, st, limit); err != nil {
		return nil, err
	}
	return readAll(name, f, limit)
}

// check refuses what is not a regular file, or is larger than limit by its size.
func check(name string, st fs.FileInfo, limit int64) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (%s)", name, ErrNotRegular, kind(st.Mode()))
	}
	if st.Size() > limit {
		return tooLarge(name, limit)
	}
	return nil
}

// readAll reads r to its end through a reader limited to limit+1 bytes.
func readAll(name string, r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(name, limit)
	}
	return b, nil
}

// tooLarge is the error for a file over limit bytes.
func tooLarge(name string, limit int64) error {
	return fmt.Errorf("%s: %w of %d bytes", name, ErrTooLarge, limit)
}

// kind names the type of a file that is not regular.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "mode " + m.String()
}
