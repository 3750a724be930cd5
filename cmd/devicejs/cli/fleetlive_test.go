package cli_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestFleetLiveReconnecting: once mosquitto is down, every device waiting out its reconnect
// wait is in the reconnecting column of the live page's series and of --metrics (before, such
// a device was in neither column until its first attempt): the wait is 10 s of device time at
// --time-scale 0.1, 100 s of wall time, so no attempt is made during the test. The live series
// and figures carry the publish latency.
func TestFleetLiveReconnecting(t *testing.T) {
	t.Parallel()
	const n = 6
	b := testbroker.Mosquitto(t)
	src := script(t, "r.js", `var c = mqtt.connect('mqtt://localhost:1883', {clientId: 'r', reconnectCount: 1855, reconnectPeriod: 10000});
var timer = null;
c.on('connect', function () {
  if (timer === null) timer = setInterval(function () { if (c.canPublish()) c.publish('r/x', 'v', {qos: 1}); }, 20);
});`)
	var rest strings.Builder
	_, url, _ := startFleet(t, "devicejs: live report at ", &rest, "-n", strconv.Itoa(n), "--broker", b.Addr(), "--quiet",
		"--for", "3600s", "--time-scale", "0.1", "--ui", "127.0.0.1:0", src)
	c := &http.Client{Timeout: 20 * time.Second}
	last := func() (fleet.Sample, fleet.Summary) {
		resp, err := c.Get(url + "data.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d pageData
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		if d.Fleet == nil || len(d.Fleet.Summary.Series) == 0 {
			return fleet.Sample{}, fleet.Summary{}
		}
		return d.Fleet.Summary.Series[len(d.Fleet.Summary.Series)-1], d.Fleet.Summary
	}
	wait := func(what string, ok func(fleet.Sample) bool) fleet.Summary {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; {
			x, s := last()
			if ok(x) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: last sample %+v after 60 s; stderr:\n%s", what, x, rest.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	s := wait("all connected and publishing", func(x fleet.Sample) bool { return x.Connected == n && x.PublishP50MS > 0 })
	if s.PublishAttempts == 0 || s.PublishLatency["all"].Count == 0 {
		t.Errorf("live load figures %+v", s.Load)
	}
	b.Stop()
	wait("all reconnecting", func(x fleet.Sample) bool { return x.Reconnecting == n && x.Connected == 0 })
}
