package devtest

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// TestSeed is the seed of the world of test name in file, for a run seeded with seed
// (Options.Seed, `--seed`): a 64-bit FNV-1a hash of seed, the file's base name and the test's
// name. It depends on nothing else, so a test's link draws (jitter, loss) are the same in the
// whole file, under any Run selection, with any Parallel, after tests are added above it and
// wherever the file is run from (docs/testing.md, "Seeds").
func TestSeed(seed int64, file, name string) int64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(path.Base(filepath.ToSlash(file))))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// ReplayArgs are the `devicejs test` arguments that run test r alone with the seed it had:
// --seed, --run with the test's name as an anchored, quoted regular expression, and its file.
func ReplayArgs(r TestResult) []string {
	args := []string{"--seed", fmt.Sprint(r.Seed), "--run", "^" + regexp.QuoteMeta(r.Name) + "$"}
	if strings.HasPrefix(r.File, "-") {
		args = append(args, "--") // a file named like a flag
	}
	return append(args, r.File)
}

// ShellQuote quotes s for a POSIX shell: unchanged when it holds only safe characters, else in
// single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ReplayCommand is the shell command that replays test r: `devicejs test` with extra (flags
// such as --broker, already quoted) and ReplayArgs.
func ReplayCommand(r TestResult, extra ...string) string {
	parts := []string{"devicejs", "test"}
	parts = append(parts, extra...)
	for _, a := range ReplayArgs(r) {
		parts = append(parts, ShellQuote(a))
	}
	return strings.Join(parts, " ")
}
