package mqttcore

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Broker URL limits of the device spec (mqtt.connect url).
const (
	MaxURLLen   = 255  // bytes
	DefaultPort = 1883 // for both schemes, as the spec says; mqtts users write :8883
)

// Endpoint is a parsed broker URL.
type Endpoint struct {
	TLS  bool   // scheme mqtts
	Host string // domain name, IPv4 address, or IPv6 address without brackets
	Port int    // 1 to 65535
}

// Address returns "host:port" for net.Dial, with brackets around an IPv6 address.
func (e Endpoint) Address() string {
	return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
}

// String returns the canonical URL, with the port always written out.
func (e Endpoint) String() string {
	scheme := "mqtt://"
	if e.TLS {
		scheme = "mqtts://"
	}
	return scheme + e.Address()
}

// ParseURL parses a broker URL of the form [protocol]://[hostname][:port]:
//
//   - protocol is "mqtt" or "mqtts", lower case;
//   - hostname is a domain name (letters, digits and hyphens in dot-separated labels of 1 to 63
//     bytes, not starting or ending with a hyphen, 253 bytes at most), a dotted-quad IPv4
//     address, or an IPv6 address in brackets (no zone);
//   - port is a string of decimal digits with a value of 1 to 65535; without it the port is
//     DefaultPort (1883), also for mqtts;
//   - one trailing "/" is accepted and ignored; any other path, a query, a fragment, user
//     information, white space or a URL longer than MaxURLLen bytes is refused.
//
// Every refusal is an *ArgError for FieldURL.
func ParseURL(s string) (Endpoint, error) {
	if len(s) > MaxURLLen {
		return Endpoint{}, argErrorf(FieldURL, "longer than %d bytes", MaxURLLen)
	}
	var ep Endpoint
	rest, ok := strings.CutPrefix(s, "mqtt://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "mqtts://"); !ok {
			return Endpoint{}, argErrorf(FieldURL, "protocol must be mqtt:// or mqtts://")
		}
		ep.TLS = true
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.Contains(rest, "@") {
		// Checked first, and never quoted: what precedes the @ is usually a password
		// (which may itself contain '/', ':' or '#').
		return Endpoint{}, argErrorf(FieldURL, "user information (user:password@) is not allowed; use the username and password options")
	}

	var hostport string
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Endpoint{}, argErrorf(FieldURL, "missing ] after IPv6 address")
		}
		a, err := netip.ParseAddr(rest[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return Endpoint{}, argErrorf(FieldURL, "invalid IPv6 address %q", rest[1:end])
		}
		ep.Host = a.String()
		hostport = rest[end+1:]
	} else {
		i := strings.IndexByte(rest, ':')
		if i < 0 {
			i = len(rest)
		}
		host := rest[:i]
		if err := checkHostname(host); err != nil {
			return Endpoint{}, err
		}
		ep.Host = host
		hostport = rest[i:]
	}

	ep.Port = DefaultPort
	if hostport != "" {
		digits, ok := strings.CutPrefix(hostport, ":")
		if !ok {
			return Endpoint{}, argErrorf(FieldURL, "unexpected %q after hostname", hostport)
		}
		port, err := parsePort(digits)
		if err != nil {
			return Endpoint{}, err
		}
		ep.Port = port
	}
	return ep, nil
}

// parsePort parses a non-empty string of decimal digits with a value of 1 to 65535.
func parsePort(s string) (int, error) {
	if s == "" {
		return 0, argErrorf(FieldURL, "empty port")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, argErrorf(FieldURL, "port %q is not a decimal digit string", s)
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, argErrorf(FieldURL, "port %s out of range 1 to 65535", s)
		}
	}
	if n == 0 {
		return 0, argErrorf(FieldURL, "port %s out of range 1 to 65535", s)
	}
	return n, nil
}

// checkHostname accepts a domain name (RFC 1123 labels) or a dotted-quad IPv4 address. A name
// whose labels are all digits must be a valid IPv4 address ("1.2.3" and "1.2.3.256" are refused).
func checkHostname(h string) error {
	if h == "" {
		return argErrorf(FieldURL, "empty hostname")
	}
	if len(h) > 253 {
		return argErrorf(FieldURL, "hostname longer than 253 bytes")
	}
	allNumeric := true
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return argErrorf(FieldURL, "invalid hostname %q", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return argErrorf(FieldURL, "invalid hostname %q", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				allNumeric = false
			default:
				return argErrorf(FieldURL, "invalid character %q in hostname", c)
			}
		}
	}
	if allNumeric {
		if a, err := netip.ParseAddr(h); err != nil || !a.Is4() {
			return argErrorf(FieldURL, "invalid IPv4 address %q", h)
		}
	}
	return nil
}
