package embedroute

import "testing"

// TestTLSDefaults: the route fills only what the device left empty; a CA of the device's own
// is kept, and a client certificate is offered only when neither cert nor key is set.
func TestTLSDefaults(t *testing.T) {
	r := &Route{TrustCA: "routeCA", ClientCert: "routeCert", ClientKey: "routeKey"}
	cases := []struct{ ca, cert, key, wantCA, wantCert, wantKey string }{
		{"", "", "", "routeCA", "routeCert", "routeKey"},
		{"mine", "", "", "mine", "routeCert", "routeKey"},
		{"", "c", "k", "routeCA", "c", "k"},
		{"", "c", "", "routeCA", "c", ""}, // half a pair stays the device's (New reports it)
		{"", "", "k", "routeCA", "", "k"},
		{"mine", "c", "k", "mine", "c", "k"},
	}
	for _, c := range cases {
		ca, cert, key := r.TLSDefaults(c.ca, c.cert, c.key)
		if ca != c.wantCA || cert != c.wantCert || key != c.wantKey {
			t.Errorf("TLSDefaults(%q,%q,%q) = %q,%q,%q; want %q,%q,%q", c.ca, c.cert, c.key, ca, cert, key, c.wantCA, c.wantCert, c.wantKey)
		}
	}
}
