package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// deadConnScript publishes in a tight timer loop (every device millisecond, whenever
// canPublish() says it can) and re-sends a failed reading when canPublish() is true, the
// script of issue 18 finding 9. Each failed publish prints what the callback saw; it prints
// PUBLISHING once 50 publishes have completed, and after the reconnection a summary, then ends.
const deadConnScript = `
var client = mqtt.connect('mqtt://broker.example:1883', {reconnectCount: 1855, reconnectPeriod: 200});
var ok = 0, failed = 0, resent = 0, refused = 0, connects = 0;
function send() {
	var r = client.publish('dead/reading', 'reading', {qos: %QOS%}, done);
	if (r !== undefined) { refused++; }
}
function done(err) {
	if (err.code === 0) {
		if (++ok === 50) { print('PUBLISHING'); }
		return;
	}
	failed++;
	print('FAILED ' + err.code + ' isConnected=' + client.isConnected() + ' canPublish=' + client.canPublish());
	if (client.canPublish()) { resent++; send(); }
}
var timer = setInterval(function() { if (client.canPublish()) { send(); } }, 1);
client.on('close', function() {
	var r = client.publish('dead/reading', 'in close');
	print('CLOSE isConnected=' + client.isConnected() + ' canPublish=' + client.canPublish() + ' publish=' + (r && r.code));
});
client.on('connect', function() {
	print('CONNECT');
	if (++connects === 2) {
		print('SUMMARY failed=' + failed + ' resent=' + resent + ' refused=' + refused);
		clearInterval(timer);
		client.end();
	}
});
`

// TestRunBrokerKilledMidPublish (issue 18 finding 9): `devicejs run` of a script publishing in
// a tight loop against mosquitto, which the test stops with SIGTERM (or SIGKILL) mid-publish
// and starts again. The failed publish's callback (when a publish was in flight) sees
// isConnected() and canPublish() false, close comes after it and sees the same, and the script
// re-sends nothing until the reconnection.
func TestRunBrokerKilledMidPublish(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		signal string
		qos    int
	}{
		{"SIGTERM", 0}, {"SIGTERM", 1}, {"SIGTERM", 2}, {"SIGKILL", 1}, {"SIGKILL", 2},
	} {
		t.Run(fmt.Sprintf("%s qos%d", tc.signal, tc.qos), func(t *testing.T) {
			qos := tc.qos
			b := testbroker.Mosquitto(t)
			p := script(t, "dead.js", strings.ReplaceAll(deadConnScript, "%QOS%", fmt.Sprint(qos)))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "run", "--broker", b.Addr(), p)
			var stderr syncbuf.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 1024)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			var out []string
			waitLine := func(want string) {
				t.Helper()
				timeout := time.After(30 * time.Second)
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							t.Fatalf("output ended before %q: %q; stderr %s", want, out, stderr.String())
						}
						out = append(out, l)
						if l == want {
							return
						}
					case <-timeout:
						t.Fatalf("no %q within 30 s: %q; stderr %s", want, out, stderr.String())
					}
				}
			}
			waitLine("PUBLISHING")
			if tc.signal == "SIGKILL" {
				b.Kill()
			} else {
				b.Stop() // SIGTERM
			}
			waitLine("CLOSE isConnected=false canPublish=false publish=11")
			b.Restart()
			waitLine("CONNECT")
			for l := range lines { // the summary, then the end of the run
				out = append(out, l)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("run: %v; output %q; stderr %s", err, out, stderr.String())
			}
			closeAt, summary := -1, ""
			for i, l := range out {
				switch {
				case strings.HasPrefix(l, "CLOSE") && closeAt < 0:
					closeAt = i
				case strings.HasPrefix(l, "SUMMARY "):
					summary = l
				case strings.HasPrefix(l, "FAILED "):
					if l != "FAILED 11 isConnected=false canPublish=false" {
						t.Errorf("the failed publish's callback saw %q", l)
					}
					if closeAt >= 0 {
						t.Errorf("%q after close", l)
					}
				}
			}
			var failed, resent, refused int
			if _, err := fmt.Sscanf(summary, "SUMMARY failed=%d resent=%d refused=%d", &failed, &resent, &refused); err != nil {
				t.Fatalf("no summary (%v): %q", err, out)
			}
			if failed > 1 || resent != 0 || refused > 1 {
				t.Errorf("%s for one broker stop: want at most one failure (one publish in flight), no resend", summary)
			}
			t.Logf("%s (%d lines)", summary, len(out))
		})
	}
}
