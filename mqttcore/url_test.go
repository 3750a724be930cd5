package mqttcore_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/devicejs/devicejs/mqttcore"
)

func TestParseURL(t *testing.T) {
	for _, tc := range urlCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mqttcore.ParseURL(tc.in)
			if !tc.ok {
				var ae *mqttcore.ArgError
				if !errors.As(err, &ae) || ae.Field != mqttcore.FieldURL {
					t.Fatalf("ParseURL(%q) = %+v, %v; want *ArgError for url", tc.in, got, err)
				}
				if !errors.Is(err, mqttcore.IllegalArgument) {
					t.Errorf("errors.Is(%v, IllegalArgument) = false", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestURLCaseLengths(t *testing.T) {
	for _, n := range []int{255, 256} {
		if got := len(urlOf(n)); got != n {
			t.Fatalf("len(urlOf(%d)) = %d", n, got)
		}
	}
}

func TestEndpointAddressString(t *testing.T) {
	tt := []struct {
		ep         mqttcore.Endpoint
		addr, text string
	}{
		{mqttcore.Endpoint{Host: "foo.bar", Port: 1883}, "foo.bar:1883", "mqtt://foo.bar:1883"},
		{mqttcore.Endpoint{TLS: true, Host: "::1", Port: 8883}, "[::1]:8883", "mqtts://[::1]:8883"},
	}
	for _, tc := range tt {
		t.Run(tc.text, func(t *testing.T) {
			if got := tc.ep.Address(); got != tc.addr {
				t.Errorf("Address() = %q, want %q", got, tc.addr)
			}
			if got := tc.ep.String(); got != tc.text {
				t.Errorf("String() = %q, want %q", got, tc.text)
			}
			back, err := mqttcore.ParseURL(tc.ep.String())
			if err != nil || back != tc.ep {
				t.Errorf("ParseURL(String()) = %+v, %v", back, err)
			}
		})
	}
}

func ExampleParseURL() {
	for _, s := range []string{"mqtts://foo.bar:8883", "mqtt://[::1]", "mqtt://user@foo.bar"} {
		ep, err := mqttcore.ParseURL(s)
		if err != nil {
			fmt.Println(err, errors.Is(err, mqttcore.IllegalArgument))
			continue
		}
		fmt.Println(ep.TLS, ep.Host, ep.Port, ep.Address())
	}
	// Output:
	// true foo.bar 8883 foo.bar:8883
	// false ::1 1883 [::1]:1883
	// mqtt: illegal argument url: user information (user:password@) is not allowed; use the username and password options true
}
