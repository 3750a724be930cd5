package mqttcore

import "math"

// Limits bounds the resources of one Host (one device).
type Limits struct {
	MaxSessions      int // MQTT session resources usable at once
	MaxSubscriptions int // subscriptions per session
	// MaxBuffSize is the largest sendBuffSize and recvBuffSize accepted by Host.Connect, in
	// bytes; zero or less means the device's MaxBuffSize (65536). A larger value lifts the
	// device's bound (HostLimits); the smallest accepted stays MinBuffSize.
	MaxBuffSize int
}

// HostMaxBuffSize is the buffer bound of HostLimits: 16 MiB, far above any device but still a
// bound on what one message may hold.
const HostMaxBuffSize = 16 << 20

// The device spec's limits.
const (
	DeviceMaxSessions      = 1 // "The number of MQTT session resources that can be used is 1"
	DeviceMaxSubscriptions = 5 // "Up to 5 topics can be subscribed to"
)

// DeviceLimits returns the device's limits: 1 session, 5 subscriptions, buffers of at most
// 65536 bytes.
func DeviceLimits() Limits {
	return Limits{MaxSessions: DeviceMaxSessions, MaxSubscriptions: DeviceMaxSubscriptions, MaxBuffSize: MaxBuffSize}
}

// HostLimits returns limits lifted to what the host computer allows (math.MaxInt sessions and
// subscriptions, HostMaxBuffSize buffers), for scripts that are not meant to model the
// device's resource bounds.
func HostLimits() Limits {
	return Limits{MaxSessions: math.MaxInt, MaxSubscriptions: math.MaxInt, MaxBuffSize: HostMaxBuffSize}
}

// validate is Options.Validate with the buffer bound of l: buffer sizes above the device's
// MaxBuffSize but within l.MaxBuffSize are accepted.
func (l Limits) validate(o Options) error {
	if l.MaxBuffSize > MaxBuffSize {
		for _, f := range []struct {
			field string
			n     *int
		}{{FieldSendBuffSize, &o.SendBuffSize}, {FieldRecvBuffSize, &o.RecvBuffSize}} {
			if *f.n > MaxBuffSize && *f.n <= l.MaxBuffSize {
				*f.n = MaxBuffSize // within the lifted bound: let Validate check the rest
			} else if *f.n > l.MaxBuffSize {
				return argErrorf(f.field, "must be %d to %d bytes, not %d", MinBuffSize, l.MaxBuffSize, *f.n)
			}
		}
	}
	return o.Validate()
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
	if l.MaxBuffSize <= 0 {
		l.MaxBuffSize = d.MaxBuffSize
	}
	return l
}
