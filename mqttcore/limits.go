package mqttcore

import "math"

// Limits bounds the resources of one Host (one device).
type Limits struct {
	MaxSessions      int // MQTT session resources usable at once
	MaxSubscriptions int // subscriptions per session
}

// The device spec's limits.
const (
	DeviceMaxSessions      = 1 // "The number of MQTT session resources that can be used is 1"
	DeviceMaxSubscriptions = 5 // "Up to 5 topics can be subscribed to"
)

// DeviceLimits returns the device's limits: 1 session, 5 subscriptions.
func DeviceLimits() Limits {
	return Limits{MaxSessions: DeviceMaxSessions, MaxSubscriptions: DeviceMaxSubscriptions}
}

// HostLimits returns limits lifted to what the host computer allows (math.MaxInt each), for
// scripts that are not meant to model the device's resource bounds.
func HostLimits() Limits {
	return Limits{MaxSessions: math.MaxInt, MaxSubscriptions: math.MaxInt}
}

// WithDefaults returns l with every field that is zero or negative replaced by its
// DeviceLimits value, so the zero Limits means the device's.
func (l Limits) WithDefaults() Limits {
	d := DeviceLimits()
	if l.MaxSessions <= 0 {
		l.MaxSessions = d.MaxSessions
	}
	if l.MaxSubscriptions <= 0 {
		l.MaxSubscriptions = d.MaxSubscriptions
	}
	return l
}
