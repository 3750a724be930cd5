// Package reporttest opens report pages in headless Chromium (Debian's chromium package) for
// tests: the DOM after the page's script ran, and a screenshot. Test helpers only.
package reporttest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// browserTimeout bounds one Chromium run (a loaded 2-core machine starts it slowly).
const browserTimeout = 90 * time.Second

// Chromium returns the browser's path. Without it the test is skipped on a developer machine
// and fails in CI (CI set), where .ci/run must have installed it (apt-get install chromium).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "reporttest: chromium not found (apt-get install chromium; scripts/test-deps.sh does)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// flags are the headless flags this machine needs, with the network shut off: every host
// name fails to resolve and every connection goes to a proxy that is not there, so a page that
// needed the network would show it.
func flags(t testing.TB) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=socks5://127.0.0.1:9",
		"--user-data-dir=" + t.TempDir(),
	}
}

func run(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Chromium(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\nstderr:\n%s", strings.Join(args[len(args)-2:], " "), err, tail(errOut.String()))
	}
	return out.Bytes()
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// fileURL is the file:// URL of path.
func fileURL(t testing.TB, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return "file://" + filepath.ToSlash(abs)
}

// DOM opens the page at path (a file, optionally with a #fragment) or URL (http://...) and returns the document after its
// scripts ran (chromium --dump-dom, which waits for the load event).
func DOM(t testing.TB, pathOrURL string) *html.Node {
	t.Helper()
	u := pathOrURL
	if !strings.Contains(u, "://") {
		path, frag, hasFrag := strings.Cut(u, "#")
		u = fileURL(t, path)
		if hasFrag {
			u += "#" + frag
		}
	}
	out := run(t, append(flags(t), "--dump-dom", u)...)
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("parsing the dumped DOM: %v", err)
	}
	return doc
}

// Open is DOM and Screenshot in one browser run (Chromium is slow to start on a loaded
// machine): it saves the PNG and returns the document.
func Open(t testing.TB, path, png string, width, height int) *html.Node {
	t.Helper()
	out := run(t, append(flags(t), "--screenshot="+png, "--window-size="+itoa(width)+","+itoa(height), "--dump-dom", fileURL(t, path))...)
	checkPNG(t, png)
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("parsing the dumped DOM: %v", err)
	}
	return doc
}

func checkPNG(t testing.TB, png string) {
	t.Helper()
	st, err := os.Stat(png)
	if err != nil || st.Size() < 1000 {
		t.Fatalf("screenshot %s: %v (size %v)", png, err, st)
	}
	t.Logf("screenshot %s", png)
}

// Screenshot saves a PNG of the page at path, width × height CSS pixels, to png.
func Screenshot(t testing.TB, path, png string, width, height int) {
	t.Helper()
	run(t, append(flags(t), "--screenshot="+png, "--window-size="+itoa(width)+","+itoa(height), fileURL(t, path))...)
	checkPNG(t, png)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// ArtifactDir returns a folder that outlives the test for its artifacts (screenshots):
// $DEVICEJS_TEST_ARTIFACTS when set, else a folder under the system temp dir named after the
// test. The path is logged.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("DEVICEJS_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "devicejs-test-artifacts")
	}
	dir = filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("artifacts in %s", dir)
	return dir
}
