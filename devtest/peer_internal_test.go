package devtest

import (
	"strings"
	"testing"
)

// TestPublishSizeLimit: a peer publish over MQTT's maximum packet size fails instead of
// reporting success (issue 17 item 11: a 300 MiB publish reported success). World.publish
// checks the sizes with checkPublishSize before anything else.
func TestPublishSizeLimit(t *testing.T) {
	for _, tc := range []struct {
		topic   string
		payload int
		qos     byte
		over    bool
	}{
		{"t", 300 << 20, 0, true},
		{"t", 256 << 20, 1, true},
		{"t", maxPublishSize - 2 - 1 + 1, 0, true}, // one byte over
		{"topic/x", maxPublishSize - 2 - 7 - 2 + 1, 1, true},
		{"t", maxPublishSize - 3, 0, false}, // exactly the maximum
		{"t", 1 << 20, 2, false},
	} {
		err := checkPublishSize(tc.topic, tc.payload, tc.qos)
		if tc.over != (err != nil) || tc.over && !strings.Contains(err.Error(), "over MQTT's maximum packet size") {
			t.Errorf("%d bytes qos %d: err %v", tc.payload, tc.qos, err)
		}
	}
	for _, tc := range []struct {
		topic   string
		payload int
		qos     byte
		want    int
	}{
		{"t", maxPublishSize - 3, 0, maxPublishSize},
		{"topic/x", maxPublishSize - 11, 1, maxPublishSize},
		{"a", 0, 2, 5},
	} {
		if got := publishSize(tc.topic, tc.payload, tc.qos); got != tc.want {
			t.Errorf("publishSize(%q, %d, %d) = %d, want %d", tc.topic, tc.payload, tc.qos, got, tc.want)
		}
	}
}
