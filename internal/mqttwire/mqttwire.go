// Package mqttwire holds the MQTT 3.1.1 wire helpers every part of devicejs shares: the fixed
// header's remaining length, reading one packet, packet type names and topic filter matching
// (with the '$' rule). It has no state and no dependencies; mqttcore, the test world (devtest),
// the fault proxy and the fleet use it, so that each rule is written once.
package mqttwire

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxRemainingLength is the largest remaining length four bytes encode (MQTT 3.1.1 section
// 2.2.3): 256 MiB - 1.
const MaxRemainingLength = 268_435_455

// ErrMalformedLength is returned when a remaining length goes on past the four bytes MQTT
// allows.
var ErrMalformedLength = errors.New("remaining length longer than 4 bytes")

// ErrTooLarge is returned by ReadPacket for a packet over its limit.
var ErrTooLarge = errors.New("packet larger than the limit")

// DecodeLength decodes the fixed header at the start of b (b[0] is the packet's first byte):
// it returns the remaining length n and the fixed header's size hdr (2 to 5). When b ends
// before the length does, hdr is 0 and err nil: more bytes are needed. err is
// ErrMalformedLength when the encoding is longer than four bytes.
func DecodeLength(b []byte) (n, hdr int, err error) {
	mul := 1
	for i := 1; i < len(b); i++ {
		n += int(b[i]&0x7f) * mul
		if b[i]&0x80 == 0 {
			return n, i + 1, nil
		}
		if i == 4 {
			return 0, 0, ErrMalformedLength
		}
		mul *= 128
	}
	return 0, 0, nil
}

// AppendLength appends the remaining-length encoding of n (0 <= n <= MaxRemainingLength) to b.
func AppendLength(b []byte, n int) []byte {
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

// ReadPacket reads one whole packet from r: its first byte h and its body (the bytes after the
// fixed header). A remaining length over max is ErrTooLarge, before the body is read.
func ReadPacket(r io.Reader, max int) (h byte, body []byte, err error) {
	hdr := make([]byte, 1, 5)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return 0, nil, err
	}
	for {
		var c [1]byte
		if _, err := io.ReadFull(r, c[:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the packet had begun
			}
			return 0, nil, err
		}
		hdr = append(hdr, c[0])
		n, size, err := DecodeLength(hdr)
		if err != nil {
			return 0, nil, err
		}
		if size == 0 {
			continue
		}
		if n > max {
			return 0, nil, fmt.Errorf("%w (%d > %d bytes)", ErrTooLarge, n, max)
		}
		body = make([]byte, n)
		_, err = io.ReadFull(r, body)
		return hdr[0], body, err
	}
}

// names are the MQTT 3.1.1 control packet types (fixed header bits 7-4).
var names = [16]string{
	"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT",
	"RESERVED",
}

// PacketName returns the name of the control packet whose first byte is h, e.g. "PUBLISH";
// types 0 and 15 are "RESERVED".
func PacketName(h byte) string { return names[h>>4] }

// TypeName returns the name of packet type t (0-15), or "TYPE?" above 15.
func TypeName(t byte) string {
	if t < 16 {
		return names[t]
	}
	return "TYPE?"
}

// TopicMatch reports whether topic name t matches topic filter f (MQTT 3.1.1 section 4.7),
// including that a wildcard at the first level does not match a topic starting with '$'
// (section 4.7.2). It walks the levels without allocating.
func TopicMatch(f, t string) bool {
	if strings.HasPrefix(t, "$") && (strings.HasPrefix(f, "+") || strings.HasPrefix(f, "#")) {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(f, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(t, "/")
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore:
			return !tmore
		case !tmore: // the topic ends: only a following "#" matches ("a/#" matches "a")
			next, _, _ := strings.Cut(frest, "/")
			return next == "#"
		}
		f, t = frest, trest
	}
}
