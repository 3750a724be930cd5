package mqttcore_test

import (
	"strings"
	"testing"

	"github.com/devicejs/devicejs/mqttcore"
)

// TestURLErrorsNeverQuoteCredentials: a URL with user information is refused without quoting
// any of it (the password used to appear in "port ... is not a decimal digit string").
func TestURLErrorsNeverQuoteCredentials(t *testing.T) {
	const marker = "S3cr3t-MARKER"
	for _, u := range []string{
		"mqtt://user:" + marker + "@127.0.0.1:1883",
		"mqtts://user:" + marker + "@[::1]:8883/",
		"mqtt://" + marker + "@host",
		"mqtt://user:" + marker + "@",
		"mqtt://:" + marker + "@host:99999",
		"mqtt://u:" + marker + "@host/path",
		"mqtt://u:pa/ss" + marker + "@host",
		"mqtt://u:" + marker + "#x@host",
	} {
		_, err := mqttcore.ParseURL(u)
		if err == nil {
			t.Fatalf("ParseURL(%q) accepted user information", u)
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("ParseURL error quotes the password: %v", err)
		}
	}
}
