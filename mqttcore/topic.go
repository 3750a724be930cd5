package mqttcore

import (
	"strings"
	"unicode/utf8"
)

// MaxTopicLen is the longest topic name or filter in bytes (device spec: 127 bytes).
const MaxTopicLen = 127

// HeaderOverhead is the device's fixed per-message buffer overhead in bytes: "the sent
// (received) data includes a 9-byte header field in addition to the topic and the message".
const HeaderOverhead = 9

// ValidateTopicName checks a .publish() topic: a valid MQTT topic name [MQTT-4.7.3-1] of 1 to
// 127 bytes of well-formed UTF-8, with no wildcard ('+', '#'), no NUL and no control character
// (U+0001..U+001F, U+007F..U+009F, which MQTT says SHOULD NOT appear). The spec's character list
// (alphanumerics and / * #) is not enforced: its own samples use '_' ("foo_topic"). Errors are
// *ArgError for FieldTopic.
func ValidateTopicName(s string) error {
	if err := checkTopicString(s); err != nil {
		return err
	}
	if i := strings.IndexAny(s, "+#"); i >= 0 {
		return argErrorf(FieldTopic, "wildcard %q not allowed in a topic name", s[i])
	}
	return nil
}

// ValidateTopicFilter checks a .subscribe() or .unsubscribe() topic filter: the rules of
// ValidateTopicName, except that the wildcards may appear as MQTT allows: '+' only as a whole
// level [MQTT-4.7.1-3], '#' only as a whole level and the last one [MQTT-4.7.1-2].
// Errors are *ArgError for FieldTopic.
func ValidateTopicFilter(s string) error {
	if err := checkTopicString(s); err != nil {
		return err
	}
	levels := strings.Split(s, "/")
	for i, level := range levels {
		switch {
		case level == "#" && i != len(levels)-1:
			return argErrorf(FieldTopic, "'#' must be the last level")
		case level == "#", level == "+":
		case strings.ContainsAny(level, "+#"):
			return argErrorf(FieldTopic, "wildcard must occupy a whole level, not %q", level)
		}
	}
	return nil
}

// checkTopicString applies the rules common to names and filters.
func checkTopicString(s string) error {
	if s == "" {
		return argErrorf(FieldTopic, "empty")
	}
	if len(s) > MaxTopicLen {
		return argErrorf(FieldTopic, "longer than %d bytes (%d)", MaxTopicLen, len(s))
	}
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return argErrorf(FieldTopic, "invalid UTF-8 at byte %d", i)
		case r == 0:
			return argErrorf(FieldTopic, "NUL character at byte %d", i)
		case r < 0x20, r >= 0x7f && r <= 0x9f:
			return argErrorf(FieldTopic, "control character U+%04X at byte %d", r, i)
		}
	}
	return nil
}

// PublishFits reports whether a publish of payloadLen bytes to topic fits the send buffer:
// len(topic) + payloadLen + HeaderOverhead <= sendBuffSize. When it does not, .publish() is an
// illegal argument.
func PublishFits(topic string, payloadLen, sendBuffSize int) bool {
	return fits(topic, payloadLen, sendBuffSize)
}

// ReceiveFits reports whether a received message fits the receive buffer:
// len(topic) + payloadLen + HeaderOverhead <= recvBuffSize. When it does not, the message is
// discarded without a 'message' event.
func ReceiveFits(topic string, payloadLen, recvBuffSize int) bool {
	return fits(topic, payloadLen, recvBuffSize)
}

func fits(topic string, payloadLen, size int) bool {
	if payloadLen < 0 {
		return false
	}
	// Compare without overflowing: len(topic) and HeaderOverhead are small.
	return payloadLen <= size-len(topic)-HeaderOverhead
}
