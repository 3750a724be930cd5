package mqttcore_test

import (
	"strings"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

// The spec tables below drive both the unit tests and the fuzz seed corpora.

type urlCase struct {
	name string
	in   string
	want mqttcore.Endpoint // zero when the URL is refused
	ok   bool
}

// urlOf returns "mqtt://" + a host name padded with "a" labels to exactly n bytes in total.
func urlOf(n int) string {
	const prefix, suffix = "mqtt://", ".example"
	host := ""
	for len(prefix)+len(host)+len(suffix) < n {
		room := n - len(prefix) - len(host) - len(suffix)
		if host != "" {
			host += "."
			room--
		}
		host += strings.Repeat("a", min(room, 63))
	}
	return prefix + host + suffix
}

func ep(tls bool, host string, port int) mqttcore.Endpoint {
	return mqttcore.Endpoint{TLS: tls, Host: host, Port: port}
}

var urlCases = []urlCase{
	// Spec: [protocol]://[hostname]:[port], protocol mqtt or mqtts, default port 1883.
	{"sample1 no port", "mqtt://foo.bar", ep(false, "foo.bar", 1883), true},
	{"sample2 mqtts 8883", "mqtts://foo.bar:8883", ep(true, "foo.bar", 8883), true},
	{"sample4 explicit 1883", "mqtt://foo.bar:1883", ep(false, "foo.bar", 1883), true},
	{"mqtts default port is 1883", "mqtts://foo.bar", ep(true, "foo.bar", 1883), true},
	{"single label", "mqtt://localhost", ep(false, "localhost", 1883), true},
	{"trailing slash", "mqtt://foo.bar:1883/", ep(false, "foo.bar", 1883), true},
	{"hyphen and digits", "mqtt://broker-01.example.com", ep(false, "broker-01.example.com", 1883), true},
	{"upper case host", "mqtt://Foo.BAR", ep(false, "Foo.BAR", 1883), true},
	{"ipv4", "mqtt://127.0.0.1:1883", ep(false, "127.0.0.1", 1883), true},
	{"ipv6", "mqtt://[::1]:8883", ep(false, "::1", 8883), true},
	{"ipv6 no port", "mqtts://[2001:db8::1]", ep(true, "2001:db8::1", 1883), true},
	{"ipv6 canonicalised", "mqtt://[2001:DB8:0:0:0:0:0:1]", ep(false, "2001:db8::1", 1883), true},
	{"port 1", "mqtt://h:1", ep(false, "h", 1), true},
	{"port 65535", "mqtt://h:65535", ep(false, "h", 65535), true},
	{"port leading zeros", "mqtt://h:01883", ep(false, "h", 1883), true},
	{"255 bytes", urlOf(255), ep(false, urlOf(255)[len("mqtt://"):], 1883), true},

	{"256 bytes", urlOf(256), mqttcore.Endpoint{}, false},
	{"empty", "", mqttcore.Endpoint{}, false},
	{"port 0", "mqtt://h:0", mqttcore.Endpoint{}, false},
	{"port 65536", "mqtt://h:65536", mqttcore.Endpoint{}, false},
	{"port huge", "mqtt://h:99999999999999999999", mqttcore.Endpoint{}, false},
	{"empty port", "mqtt://h:", mqttcore.Endpoint{}, false},
	{"signed port", "mqtt://h:+1883", mqttcore.Endpoint{}, false},
	{"hex port", "mqtt://h:0x50", mqttcore.Endpoint{}, false},
	{"scheme http", "http://foo.bar", mqttcore.Endpoint{}, false},
	{"scheme tcp", "tcp://foo.bar:1883", mqttcore.Endpoint{}, false},
	{"scheme ssl", "ssl://foo.bar:8883", mqttcore.Endpoint{}, false},
	{"scheme ws", "ws://foo.bar", mqttcore.Endpoint{}, false},
	{"scheme upper case", "MQTT://foo.bar", mqttcore.Endpoint{}, false},
	{"no scheme", "foo.bar:1883", mqttcore.Endpoint{}, false},
	{"one slash", "mqtt:/foo.bar", mqttcore.Endpoint{}, false},
	{"empty host", "mqtt://", mqttcore.Endpoint{}, false},
	{"empty host with port", "mqtt://:1883", mqttcore.Endpoint{}, false},
	{"userinfo", "mqtt://user:pass@foo.bar", mqttcore.Endpoint{}, false},
	{"user only", "mqtt://user@foo.bar", mqttcore.Endpoint{}, false},
	{"path", "mqtt://foo.bar/topic", mqttcore.Endpoint{}, false},
	{"two slashes", "mqtt://foo.bar//", mqttcore.Endpoint{}, false},
	{"query", "mqtt://foo.bar?x=1", mqttcore.Endpoint{}, false},
	{"fragment", "mqtt://foo.bar#x", mqttcore.Endpoint{}, false},
	{"space in host", "mqtt://foo bar", mqttcore.Endpoint{}, false},
	{"leading space", " mqtt://foo.bar", mqttcore.Endpoint{}, false},
	{"trailing space", "mqtt://foo.bar ", mqttcore.Endpoint{}, false},
	{"space before port", "mqtt://foo.bar: 1883", mqttcore.Endpoint{}, false},
	{"underscore host", "mqtt://foo_bar", mqttcore.Endpoint{}, false},
	{"empty label", "mqtt://foo..bar", mqttcore.Endpoint{}, false},
	{"trailing dot", "mqtt://foo.bar.", mqttcore.Endpoint{}, false},
	{"label leading hyphen", "mqtt://-foo.bar", mqttcore.Endpoint{}, false},
	{"label trailing hyphen", "mqtt://foo-.bar", mqttcore.Endpoint{}, false},
	{"label 64 bytes", "mqtt://" + strings.Repeat("a", 64) + ".bar", mqttcore.Endpoint{}, false},
	{"bad ipv4 octet", "mqtt://1.2.3.256", mqttcore.Endpoint{}, false},
	{"short ipv4", "mqtt://1.2.3", mqttcore.Endpoint{}, false},
	{"ipv6 without brackets", "mqtt://::1", mqttcore.Endpoint{}, false},
	{"ipv6 unclosed", "mqtt://[::1:1883", mqttcore.Endpoint{}, false},
	{"ipv6 bad", "mqtt://[::g]", mqttcore.Endpoint{}, false},
	{"ipv6 zone", "mqtt://[fe80::1%25eth0]", mqttcore.Endpoint{}, false},
	{"ipv4 in brackets", "mqtt://[127.0.0.1]", mqttcore.Endpoint{}, false},
	{"junk after bracket", "mqtt://[::1]x", mqttcore.Endpoint{}, false},
	{"two ports", "mqtt://h:1:2", mqttcore.Endpoint{}, false},
	{"non-ascii host", "mqtt://bücher.example", mqttcore.Endpoint{}, false},
	{"NUL", "mqtt://foo\x00.bar", mqttcore.Endpoint{}, false},
}

type optionCase struct {
	name  string
	set   func(o *mqttcore.Options)
	field string // "" when the options are valid
}

func ptr(s string) *string { return &s }

// optionCases covers every option boundary of the spec's options table: min-1, min, max, max+1.
var optionCases = []optionCase{
	{"defaults", func(o *mqttcore.Options) {}, ""},
	{"sample options", func(o *mqttcore.Options) {
		o.ClientID, o.Username, o.Password, o.KeepAlive = "testClientId", ptr("foo"), ptr("bar"), 300*time.Second
	}, ""},
	{"sample3 options", func(o *mqttcore.Options) {
		o.ClientID, o.Username, o.Password, o.ReconnectCount = "foo", ptr("foo"), ptr("foobar"), 1855
	}, ""},

	{"keepalive -1s", func(o *mqttcore.Options) { o.KeepAlive = -time.Second }, mqttcore.FieldKeepAlive},
	{"keepalive -1ns", func(o *mqttcore.Options) { o.KeepAlive = -1 }, mqttcore.FieldKeepAlive},
	{"keepalive 0", func(o *mqttcore.Options) { o.KeepAlive = 0 }, ""},
	{"keepalive max", func(o *mqttcore.Options) { o.KeepAlive = 2147483647 * time.Second }, ""},
	{"keepalive max+1", func(o *mqttcore.Options) { o.KeepAlive = 2147483648 * time.Second }, mqttcore.FieldKeepAlive},

	{"clientId generated", func(o *mqttcore.Options) { o.ClientID = "" }, ""},
	{"clientId 1 byte", func(o *mqttcore.Options) { o.ClientID = "a" }, ""},
	{"clientId 127 bytes", func(o *mqttcore.Options) { o.ClientID = strings.Repeat("a", 127) }, ""},
	{"clientId 128 bytes", func(o *mqttcore.Options) { o.ClientID = strings.Repeat("a", 128) }, mqttcore.FieldClientID},
	{"clientId mqttjs_ form", func(o *mqttcore.Options) { o.ClientID = "mqttjs_01234567" }, ""},
	{"clientId hyphen", func(o *mqttcore.Options) { o.ClientID = "dev-01" }, ""},
	{"clientId space", func(o *mqttcore.Options) { o.ClientID = "a b" }, mqttcore.FieldClientID},
	{"clientId slash", func(o *mqttcore.Options) { o.ClientID = "a/b" }, mqttcore.FieldClientID},
	{"clientId multibyte", func(o *mqttcore.Options) { o.ClientID = "é" }, mqttcore.FieldClientID},

	{"protocol 3 MQIsdp", func(o *mqttcore.Options) { o.ProtocolVersion, o.ProtocolID = 3, "MQIsdp" }, ""},
	{"protocol 3 MQTT", func(o *mqttcore.Options) { o.ProtocolVersion = 3 }, mqttcore.FieldProtocolID},
	{"protocol 4 MQIsdp", func(o *mqttcore.Options) { o.ProtocolID = "MQIsdp" }, mqttcore.FieldProtocolID},
	{"protocolId other", func(o *mqttcore.Options) { o.ProtocolID = "mqtt" }, mqttcore.FieldProtocolID},
	{"protocolId empty", func(o *mqttcore.Options) { o.ProtocolID = "" }, mqttcore.FieldProtocolID},
	{"protocolVersion 2", func(o *mqttcore.Options) { o.ProtocolVersion = 2 }, mqttcore.FieldProtocolVersion},
	{"protocolVersion 5", func(o *mqttcore.Options) { o.ProtocolVersion = 5 }, mqttcore.FieldProtocolVersion},

	{"reconnectPeriod -1ms", func(o *mqttcore.Options) { o.ReconnectPeriod = -time.Millisecond }, mqttcore.FieldReconnectPeriod},
	{"reconnectPeriod 0", func(o *mqttcore.Options) { o.ReconnectPeriod = 0 }, ""},
	{"reconnectPeriod 10000ms", func(o *mqttcore.Options) { o.ReconnectPeriod = 10000 * time.Millisecond }, ""},
	{"reconnectPeriod 10001ms", func(o *mqttcore.Options) { o.ReconnectPeriod = 10001 * time.Millisecond }, mqttcore.FieldReconnectPeriod},

	{"connectTimeout -1ms", func(o *mqttcore.Options) { o.ConnectTimeout = -time.Millisecond }, mqttcore.FieldConnectTimeout},
	{"connectTimeout 0", func(o *mqttcore.Options) { o.ConnectTimeout = 0 }, ""},
	{"connectTimeout max", func(o *mqttcore.Options) { o.ConnectTimeout = 2147483647 * time.Millisecond }, ""},
	{"connectTimeout max+1", func(o *mqttcore.Options) { o.ConnectTimeout = 2147483648 * time.Millisecond }, mqttcore.FieldConnectTimeout},

	{"username empty", func(o *mqttcore.Options) { o.Username = ptr("") }, mqttcore.FieldUsername},
	{"username 1 byte", func(o *mqttcore.Options) { o.Username = ptr("u") }, ""},
	{"username 511 bytes", func(o *mqttcore.Options) { o.Username = ptr(strings.Repeat("u", 511)) }, ""},
	{"username 512 bytes", func(o *mqttcore.Options) { o.Username = ptr(strings.Repeat("u", 512)) }, mqttcore.FieldUsername},
	{"username punctuation", func(o *mqttcore.Options) { o.Username = ptr("user@example.com ~!") }, ""},
	{"username tab", func(o *mqttcore.Options) { o.Username = ptr("a\tb") }, mqttcore.FieldUsername},
	{"username DEL", func(o *mqttcore.Options) { o.Username = ptr("a\x7f") }, mqttcore.FieldUsername},
	{"username multibyte", func(o *mqttcore.Options) { o.Username = ptr("ユーザ") }, mqttcore.FieldUsername},
	{"password empty", func(o *mqttcore.Options) { o.Password = ptr("") }, mqttcore.FieldPassword},
	{"password 1 byte", func(o *mqttcore.Options) { o.Password = ptr("p") }, ""},
	{"password 511 bytes", func(o *mqttcore.Options) { o.Password = ptr(strings.Repeat("p", 511)) }, ""},
	{"password 512 bytes", func(o *mqttcore.Options) { o.Password = ptr(strings.Repeat("p", 512)) }, mqttcore.FieldPassword},
	{"password NUL", func(o *mqttcore.Options) { o.Password = ptr("a\x00") }, mqttcore.FieldPassword},
	{"password without username", func(o *mqttcore.Options) { o.Password = ptr("secret") }, ""},

	{"reconnectCount -1", func(o *mqttcore.Options) { o.ReconnectCount = -1 }, mqttcore.FieldReconnectCount},
	{"reconnectCount 0", func(o *mqttcore.Options) { o.ReconnectCount = 0 }, ""},
	{"reconnectCount 999", func(o *mqttcore.Options) { o.ReconnectCount = 999 }, ""},
	{"reconnectCount 1000", func(o *mqttcore.Options) { o.ReconnectCount = 1000 }, mqttcore.FieldReconnectCount},
	{"reconnectCount 1854", func(o *mqttcore.Options) { o.ReconnectCount = 1854 }, mqttcore.FieldReconnectCount},
	{"reconnectCount 1855", func(o *mqttcore.Options) { o.ReconnectCount = 1855 }, ""},
	{"reconnectCount 1856", func(o *mqttcore.Options) { o.ReconnectCount = 1856 }, mqttcore.FieldReconnectCount},

	{"sendBuffSize 127", func(o *mqttcore.Options) { o.SendBuffSize = 127 }, mqttcore.FieldSendBuffSize},
	{"sendBuffSize 128", func(o *mqttcore.Options) { o.SendBuffSize = 128 }, ""},
	{"sendBuffSize 65536", func(o *mqttcore.Options) { o.SendBuffSize = 65536 }, ""},
	{"sendBuffSize 65537", func(o *mqttcore.Options) { o.SendBuffSize = 65537 }, mqttcore.FieldSendBuffSize},
	{"recvBuffSize 127", func(o *mqttcore.Options) { o.RecvBuffSize = 127 }, mqttcore.FieldRecvBuffSize},
	{"recvBuffSize 128", func(o *mqttcore.Options) { o.RecvBuffSize = 128 }, ""},
	{"recvBuffSize 65536", func(o *mqttcore.Options) { o.RecvBuffSize = 65536 }, ""},
	{"recvBuffSize 65537", func(o *mqttcore.Options) { o.RecvBuffSize = 65537 }, mqttcore.FieldRecvBuffSize},

	{"zero value", func(o *mqttcore.Options) { *o = mqttcore.Options{} }, mqttcore.FieldProtocolVersion},
	{"first bad field wins", func(o *mqttcore.Options) { o.KeepAlive, o.RecvBuffSize = -1, 0 }, mqttcore.FieldKeepAlive},
}

type topicCase struct {
	name   string
	in     string
	isName bool // valid as a publish topic name
	filter bool // valid as a subscribe/unsubscribe filter
}

var topicCases = []topicCase{
	{"sample publish", "bar_topic/device01", true, true},
	{"sample subscribe", "foo_topic/device01", true, true},
	{"sample multi-level filter", "testtopic/subtopic/#", false, true},
	{"sample shadow filter", "shadowtopic/#", false, true},
	{"sample6 filter", "foo_topic/device01/#", false, true},
	{"sample publish dummy", "testtopic/subtopic/dummy", true, true},
	{"star is an ordinary character", "a/*/b", true, true},
	{"single level", "a", true, true},
	{"leading slash", "/a", true, true},
	{"trailing slash", "a/", true, true},
	{"lone slash", "/", true, true},
	{"empty levels", "a//b", true, true},
	{"space", "a b", true, true},
	{"dollar", "$SYS/broker", true, true},
	{"utf-8", "温度/センサー", true, true},
	{"literal U+FFFD", "a\uFFFD", true, true},
	{"127 bytes", strings.Repeat("t", 127), true, true},
	{"128 bytes", strings.Repeat("t", 128), false, false},
	{"127 bytes multibyte", strings.Repeat("t", 124) + "温", true, true},
	{"128 bytes multibyte", strings.Repeat("t", 125) + "温", false, false},
	{"empty", "", false, false},
	{"hash alone", "#", false, true},
	{"plus alone", "+", false, true},
	{"plus levels", "+/+/x", false, true},
	{"plus then hash", "a/+/#", false, true},
	{"hash not last", "a/#/b", false, false},
	{"hash in level", "a/b#", false, false},
	{"plus in level", "a/b+/c", false, false},
	{"plus prefix", "a/+b", false, false},
	{"double hash", "##", false, false},
	{"NUL", "a\x00b", false, false},
	{"control char", "a\x01b", false, false},
	{"newline", "a\nb", false, false},
	{"DEL", "a\x7fb", false, false},
	{"C1 control", "a\u0085b", false, false},
	{"invalid utf-8", "a\xffb", false, false},
	{"surrogate half", "a\xed\xa0\x80", false, false},
	{"truncated utf-8", "a\xe6\xb8", false, false},
}
