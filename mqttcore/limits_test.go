package mqttcore_test

import (
	"math"
	"testing"

	"github.com/devicejs/devicejs/mqttcore"
)

func TestLimits(t *testing.T) {
	tt := []struct {
		name string
		got  mqttcore.Limits
		want mqttcore.Limits
	}{
		{"device", mqttcore.DeviceLimits(), mqttcore.Limits{MaxSessions: 1, MaxSubscriptions: 5, MaxBuffSize: 65536}},
		{"host", mqttcore.HostLimits(), mqttcore.Limits{MaxSessions: math.MaxInt, MaxSubscriptions: math.MaxInt, MaxBuffSize: 16 << 20}},
		{"zero defaults", mqttcore.Limits{}.WithDefaults(), mqttcore.DeviceLimits()},
		{"negative defaults", mqttcore.Limits{MaxSessions: -1, MaxSubscriptions: 7}.WithDefaults(), mqttcore.Limits{MaxSessions: 1, MaxSubscriptions: 7, MaxBuffSize: 65536}},
		{"host kept", mqttcore.HostLimits().WithDefaults(), mqttcore.HostLimits()},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %+v, want %+v", tc.got, tc.want)
			}
		})
	}
}
