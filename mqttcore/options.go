package mqttcore

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Ranges and defaults of the mqtt.connect options of the device spec. Durations are in Go units;
// the spec's keepalive is in seconds and reconnectPeriod/connectTimeout in milliseconds.
const (
	MaxKeepAlive           = 2147483647 * time.Second // 0 = keepalive off
	DefaultKeepAlive       = 60 * time.Second
	MaxWireKeepAlive       = 65535 * time.Second // the CONNACK field is 16 bits
	MaxClientIDLen         = 127                 // bytes; minimum 1
	ProtocolIDMQTT         = "MQTT"              // with protocolVersion 4 (MQTT 3.1.1)
	ProtocolIDMQIsdp       = "MQIsdp"            // with protocolVersion 3 (MQTT 3.1)
	DefaultProtocolVersion = 4
	MaxReconnectPeriod     = 10000 * time.Millisecond
	DefaultReconnectPeriod = 1000 * time.Millisecond
	MaxConnectTimeout      = 2147483647 * time.Millisecond // 0 = no timeout
	DefaultConnectTimeout  = 30000 * time.Millisecond
	MaxCredentialLen       = 511  // username and password bytes; minimum 1
	MaxReconnectCount      = 999  // 0 = automatic reconnection off
	ReconnectForever       = 1855 // the spec's "infinite times"
	MinBuffSize            = 128
	MaxBuffSize            = 65536
	DefaultSendBuffSize    = 2560
	DefaultRecvBuffSize    = 512
	ClientIDPrefix         = "mqttjs_"
)

// Options are the mqtt.connect options in Go units. The zero value is NOT the defaults: start
// from DefaultOptions. Username and Password are nil when not given. Options is plain data; the
// session copies it on connect.
type Options struct {
	KeepAlive       time.Duration // 0 to MaxKeepAlive, whole seconds (sub-second parts are dropped); 0 = off
	ClientID        string        // "" = GenerateClientID at connect
	ProtocolID      string        // ProtocolIDMQTT or ProtocolIDMQIsdp, matching ProtocolVersion
	ProtocolVersion int           // 4 (MQTT 3.1.1) or 3 (MQTT 3.1)
	ReconnectPeriod time.Duration // 0 to MaxReconnectPeriod; wait before an automatic reconnect
	ConnectTimeout  time.Duration // 0 to MaxConnectTimeout; 0 = wait for CONNACK forever
	Username        *string       // nil = none
	Password        *string       // nil = none
	ReconnectCount  int           // 0 (off) to MaxReconnectCount, or ReconnectForever
	SendBuffSize    int           // bytes, MinBuffSize to MaxBuffSize; see PublishFits
	RecvBuffSize    int           // bytes, MinBuffSize to MaxBuffSize; see ReceiveFits
}

// DefaultOptions returns the spec's defaults. ClientID is "", which means a generated
// "mqttjs_NNNNNNNN" at connect.
func DefaultOptions() Options {
	return Options{
		KeepAlive:       DefaultKeepAlive,
		ProtocolID:      ProtocolIDMQTT,
		ProtocolVersion: DefaultProtocolVersion,
		ReconnectPeriod: DefaultReconnectPeriod,
		ConnectTimeout:  DefaultConnectTimeout,
		ReconnectCount:  0,
		SendBuffSize:    DefaultSendBuffSize,
		RecvBuffSize:    DefaultRecvBuffSize,
	}
}

// Validate checks every field against the spec's ranges and returns the first violation, in
// field order, as an *ArgError naming the option. It never panics.
func (o Options) Validate() error {
	if o.KeepAlive < 0 || o.KeepAlive > MaxKeepAlive {
		return argErrorf(FieldKeepAlive, "must be 0 to 2147483647 s")
	}
	if o.ClientID != "" {
		if err := ValidateClientID(o.ClientID); err != nil {
			return err
		}
	}
	switch o.ProtocolVersion {
	case 3, 4:
	default:
		return argErrorf(FieldProtocolVersion, "must be 3 or 4, not %d", o.ProtocolVersion)
	}
	switch {
	case o.ProtocolID != ProtocolIDMQTT && o.ProtocolID != ProtocolIDMQIsdp:
		return argErrorf(FieldProtocolID, "must be %q or %q", ProtocolIDMQTT, ProtocolIDMQIsdp)
	case o.ProtocolVersion == 4 && o.ProtocolID != ProtocolIDMQTT:
		return argErrorf(FieldProtocolID, "must be %q with protocolVersion 4", ProtocolIDMQTT)
	case o.ProtocolVersion == 3 && o.ProtocolID != ProtocolIDMQIsdp:
		return argErrorf(FieldProtocolID, "must be %q with protocolVersion 3", ProtocolIDMQIsdp)
	}
	if o.ReconnectPeriod < 0 || o.ReconnectPeriod > MaxReconnectPeriod {
		return argErrorf(FieldReconnectPeriod, "must be 0 to 10000 ms")
	}
	if o.ConnectTimeout < 0 || o.ConnectTimeout > MaxConnectTimeout {
		return argErrorf(FieldConnectTimeout, "must be 0 to 2147483647 ms")
	}
	if o.Username != nil {
		if err := ValidateUsername(*o.Username); err != nil {
			return err
		}
	}
	if o.Password != nil {
		if err := ValidatePassword(*o.Password); err != nil {
			return err
		}
	}
	if (o.ReconnectCount < 0 || o.ReconnectCount > MaxReconnectCount) && o.ReconnectCount != ReconnectForever {
		return argErrorf(FieldReconnectCount, "must be 0 to 999 or 1855, not %d", o.ReconnectCount)
	}
	if err := checkBuffSize(FieldSendBuffSize, o.SendBuffSize); err != nil {
		return err
	}
	return checkBuffSize(FieldRecvBuffSize, o.RecvBuffSize)
}

// WireKeepAlive returns the keepalive sent in CONNECT: KeepAlive truncated to whole seconds and
// clamped to MaxWireKeepAlive (65535 s), because the CONNECT field is 16 bits and paho would
// otherwise truncate it modulo 65536. 0 means keepalive off. The keepalive runs in wall time.
func (o Options) WireKeepAlive() time.Duration {
	k := o.KeepAlive.Truncate(time.Second)
	switch {
	case k < 0:
		return 0
	case k > MaxWireKeepAlive:
		return MaxWireKeepAlive
	}
	return k
}

// ReconnectsForever reports whether automatic reconnection never gives up (ReconnectForever).
func (o Options) ReconnectsForever() bool { return o.ReconnectCount == ReconnectForever }

// ValidateClientID checks an explicitly given clientId: 1 to 127 bytes of [A-Za-z0-9_-]. The
// spec says "single-byte alphanumeric"; '_' is allowed because the spec's own generated ids
// ("mqttjs_...") contain it, and '-' because device ids commonly do.
func ValidateClientID(s string) error {
	if len(s) < 1 || len(s) > MaxClientIDLen {
		return argErrorf(FieldClientID, "must be 1 to %d bytes, not %d", MaxClientIDLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '-' {
			return argErrorf(FieldClientID, "invalid character %q at byte %d (allowed: A-Z a-z 0-9 _ -)", c, i)
		}
	}
	return nil
}

// ValidateUsername checks an explicitly given username: 1 to 511 bytes of printable ASCII
// (0x20 to 0x7E).
func ValidateUsername(s string) error { return checkCredential(FieldUsername, s) }

// ValidatePassword checks an explicitly given password: 1 to 511 bytes of printable ASCII
// (0x20 to 0x7E).
func ValidatePassword(s string) error { return checkCredential(FieldPassword, s) }

func checkCredential(field, s string) error {
	if len(s) < 1 || len(s) > MaxCredentialLen {
		return argErrorf(field, "must be 1 to %d bytes, not %d", MaxCredentialLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			// The value itself is not echoed: it may be a secret.
			return argErrorf(field, "invalid byte 0x%02x at byte %d (allowed: printable ASCII)", c, i)
		}
	}
	return nil
}

func checkBuffSize(field string, n int) error {
	if n < MinBuffSize || n > MaxBuffSize {
		return argErrorf(field, "must be %d to %d bytes, not %d", MinBuffSize, MaxBuffSize, n)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// GenerateClientID returns "mqttjs_" followed by 8 random decimal digits, the spec's default
// clientId. Safe from any goroutine.
func GenerateClientID() string {
	return fmt.Sprintf("%s%08d", ClientIDPrefix, rand.IntN(100_000_000))
}

// PublishOptions are the .publish() options.
type PublishOptions struct {
	QoS    byte // 0, 1 or 2; default 0
	Retain bool // default false
	Dup    bool // default false
}

// Validate returns an *ArgError for FieldQoS if QoS is not 0, 1 or 2.
func (o PublishOptions) Validate() error { return checkQoS(o.QoS) }

// SubscribeOptions are the .subscribe() options.
type SubscribeOptions struct {
	QoS    byte // 0, 1 or 2; default 0
	Binary bool // the spec's "bin": deliver messages as ArrayBuffer instead of string
}

// Validate returns an *ArgError for FieldQoS if QoS is not 0, 1 or 2.
func (o SubscribeOptions) Validate() error { return checkQoS(o.QoS) }

func checkQoS(q byte) error {
	if q > 2 {
		return argErrorf(FieldQoS, "must be 0, 1 or 2, not %d", q)
	}
	return nil
}
