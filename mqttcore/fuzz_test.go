package mqttcore_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/devicejs/devicejs/mqttcore"
)

// The fuzz targets are seeded from the same spec tables as the unit tests (cases_test.go) and
// from the files under testdata/fuzz/<target>.

// mustBeArgErr fails unless err is an *ArgError for field that is IllegalArgument.
func mustBeArgErr(t *testing.T, err error, fields ...string) {
	t.Helper()
	var ae *mqttcore.ArgError
	if !errors.As(err, &ae) || !errors.Is(err, mqttcore.IllegalArgument) {
		t.Fatalf("error %v (%T) is not an IllegalArgument *ArgError", err, err)
	}
	for _, f := range fields {
		if ae.Field == f {
			return
		}
	}
	t.Fatalf("error %v names field %q, want one of %q", err, ae.Field, fields)
}

var optionFields = []string{
	mqttcore.FieldKeepAlive, mqttcore.FieldClientID, mqttcore.FieldProtocolID,
	mqttcore.FieldProtocolVersion, mqttcore.FieldReconnectPeriod, mqttcore.FieldConnectTimeout,
	mqttcore.FieldUsername, mqttcore.FieldPassword, mqttcore.FieldReconnectCount,
	mqttcore.FieldSendBuffSize, mqttcore.FieldRecvBuffSize,
}

func FuzzOptionsValidate(f *testing.F) {
	for _, tc := range optionCases {
		o := mqttcore.DefaultOptions()
		tc.set(&o)
		var user, pass string
		if o.Username != nil {
			user = *o.Username
		}
		if o.Password != nil {
			pass = *o.Password
		}
		f.Add(int64(o.KeepAlive), o.ClientID, o.ProtocolID, o.ProtocolVersion, int64(o.ReconnectPeriod),
			int64(o.ConnectTimeout), o.Username != nil, user, o.Password != nil, pass,
			o.ReconnectCount, o.SendBuffSize, o.RecvBuffSize)
	}
	f.Fuzz(func(t *testing.T, keepAlive int64, clientID, protocolID string, version int,
		reconnectPeriod, connectTimeout int64, hasUser bool, user string, hasPass bool, pass string,
		reconnectCount, send, recv int) {
		o := mqttcore.Options{
			KeepAlive: time.Duration(keepAlive), ClientID: clientID, ProtocolID: protocolID,
			ProtocolVersion: version, ReconnectPeriod: time.Duration(reconnectPeriod),
			ConnectTimeout: time.Duration(connectTimeout), ReconnectCount: reconnectCount,
			SendBuffSize: send, RecvBuffSize: recv,
		}
		if hasUser {
			o.Username = &user
		}
		if hasPass {
			o.Password = &pass
		}
		if w := o.WireKeepAlive(); w < 0 || w > mqttcore.MaxWireKeepAlive {
			t.Fatalf("WireKeepAlive() = %v", w)
		}
		err := o.Validate()
		if err != nil {
			mustBeArgErr(t, err, optionFields...)
			return
		}
		// Accepted options satisfy every range of the spec's table.
		switch {
		case o.KeepAlive < 0 || o.KeepAlive > mqttcore.MaxKeepAlive,
			len(o.ClientID) > 127,
			!(o.ProtocolVersion == 4 && o.ProtocolID == "MQTT" || o.ProtocolVersion == 3 && o.ProtocolID == "MQIsdp"),
			o.ReconnectPeriod < 0 || o.ReconnectPeriod > 10*time.Second,
			o.ConnectTimeout < 0 || o.ConnectTimeout > mqttcore.MaxConnectTimeout,
			hasUser && (len(user) < 1 || len(user) > 511),
			hasPass && (len(pass) < 1 || len(pass) > 511),
			!(o.ReconnectCount >= 0 && o.ReconnectCount <= 999 || o.ReconnectCount == 1855),
			send < 128 || send > 65536 || recv < 128 || recv > 65536:
			t.Fatalf("Validate() accepted out-of-range options %+v", o)
		}
		if strings.ContainsFunc(clientID, func(r rune) bool {
			return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-')
		}) {
			t.Fatalf("Validate() accepted clientId %q", clientID)
		}
		nonPrintable := func(s string) bool {
			return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e })
		}
		if hasUser && nonPrintable(user) || hasPass && nonPrintable(pass) {
			t.Fatalf("Validate() accepted non-printable credentials %q %q", user, pass)
		}
	})
}

func FuzzParseURL(f *testing.F) {
	for _, tc := range urlCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := mqttcore.ParseURL(s)
		if err != nil {
			mustBeArgErr(t, err, mqttcore.FieldURL)
			return
		}
		if len(s) > mqttcore.MaxURLLen {
			t.Fatalf("accepted %d-byte URL", len(s))
		}
		if ep.Port < 1 || ep.Port > 65535 || ep.Host == "" {
			t.Fatalf("ParseURL(%q) = %+v", s, ep)
		}
		if ep.TLS != strings.HasPrefix(s, "mqtts://") {
			t.Fatalf("ParseURL(%q).TLS = %v", s, ep.TLS)
		}
		if strings.ContainsAny(s, "@?# \t\r\n\x00") {
			t.Fatalf("ParseURL(%q) accepted a forbidden character", s)
		}
		if c := ep.String(); len(c) <= mqttcore.MaxURLLen {
			back, err := mqttcore.ParseURL(c)
			if err != nil || back != ep {
				t.Fatalf("round trip %q -> %q -> %+v, %v", s, c, back, err)
			}
		}
	})
}

func FuzzTopicName(f *testing.F) {
	for _, tc := range topicCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := mqttcore.ValidateTopicName(s)
		if err != nil {
			mustBeArgErr(t, err, mqttcore.FieldTopic)
			return
		}
		checkTopicBasics(t, s)
		if strings.ContainsAny(s, "+#") {
			t.Fatalf("topic name %q with a wildcard accepted", s)
		}
		if err := mqttcore.ValidateTopicFilter(s); err != nil {
			t.Fatalf("valid topic name %q is not a valid filter: %v", s, err)
		}
	})
}

func FuzzTopicFilter(f *testing.F) {
	for _, tc := range topicCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := mqttcore.ValidateTopicFilter(s)
		if err != nil {
			mustBeArgErr(t, err, mqttcore.FieldTopic)
			return
		}
		checkTopicBasics(t, s)
		levels := strings.Split(s, "/")
		for i, l := range levels {
			if strings.ContainsAny(l, "+#") && l != "+" && l != "#" {
				t.Fatalf("filter %q: wildcard inside level %q", s, l)
			}
			if l == "#" && i != len(levels)-1 {
				t.Fatalf("filter %q: '#' not last", s)
			}
		}
	})
}

// checkTopicBasics checks the rules shared by accepted names and filters.
func checkTopicBasics(t *testing.T, s string) {
	t.Helper()
	if len(s) < 1 || len(s) > mqttcore.MaxTopicLen || !utf8.ValidString(s) {
		t.Fatalf("accepted topic %q (%d bytes, valid UTF-8 %v)", s, len(s), utf8.ValidString(s))
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			t.Fatalf("accepted topic %q with control character %U", s, r)
		}
	}
}
