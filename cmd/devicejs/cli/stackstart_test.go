package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFleetStackStart: a running `devicejs fleet` (the same pid the test started: it
// re-executes itself in place) has adaptivestackstart=0 in its GODEBUG, beside the user's own
// settings, unless the user's GODEBUG names the setting; the fleet still runs and exits 0.
func TestFleetStackStart(t *testing.T) {
	script := filepath.Join(t.TempDir(), "idle.js")
	if err := os.WriteFile(script, []byte(`var c = mqtt.connect('mqtt://local'); c.on('connect', function () { print('connected') })`), 0o600); err != nil {
		t.Fatal(err)
	}
	tt := []struct {
		name, godebug, want string // godebug "-": unset
	}{
		{"unset", "-", "GODEBUG=adaptivestackstart=0"},
		{"other settings kept", "madvdontneed=1", "GODEBUG=madvdontneed=1,adaptivestackstart=0"},
		{"the user's choice kept", "adaptivestackstart=1", "GODEBUG=adaptivestackstart=1"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, "fleet", "-n", "2", "--broker", "embedded", "--for", "3s", "--quiet", script)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
			if tc.godebug != "-" {
				cmd.Env = append(cmd.Env, "GODEBUG="+tc.godebug)
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			environ := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/environ"
			var got []string
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				b, err := os.ReadFile(environ)
				if err != nil {
					continue
				}
				got = nil
				for _, kv := range strings.Split(string(b), "\x00") {
					if strings.HasPrefix(kv, "GODEBUG=") {
						got = append(got, kv)
					}
				}
				if len(got) == 1 && got[0] == tc.want {
					break
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("fleet: %v\n%s", err, out.String())
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("GODEBUG of the running fleet %q, want %q", got, tc.want)
			}
		})
	}
}
