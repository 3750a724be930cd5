package fleet

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/runtime"
)

// TestExpandTemplate checks the template fields and that a field that refers to nothing is an
// error rather than text on the wire.
func TestExpandTemplate(t *testing.T) {
	for _, tc := range []struct {
		in, id, want string
		err          bool
	}{
		{in: "plain", want: "plain"},
		{in: "", want: ""},
		{in: "meter-{i}", want: "meter-7"},
		{in: "{i}/{n}", want: "7/100"},
		{in: "{i}{i}", want: "77"},
		{in: "dev-{id}", id: "meter-7", want: "dev-meter-7"},
		{in: "{id}", err: true},
		{in: "{x}", err: true},
		{in: "{I}", err: true},
		{in: "{x_y}", want: "{x_y}"},
		{in: "{}", want: "{}"},
		{in: "{i", want: "{i"},
		{in: "a{b{i}}", want: "a{b7}"},
		{in: "}{i}", want: "}7"},
		{in: `{"a":{i}}`, want: `{"a":7}`},
		{in: "{{n}}", want: "{100}"},
	} {
		got, err := expandTemplate(tc.in, 7, 100, tc.id)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("expandTemplate(%q) = %q, %v; want %q, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestGlobalsFor checks the per-instance globals of --define: templates, JSON or string
// values, the base globals, and the errors.
func TestGlobalsFor(t *testing.T) {
	base := runtime.Globals{"SITE": "plant-1"}
	for _, tc := range []struct {
		defines []string
		client  string
		want    string // the globals as JSON
		err     string
	}{
		{defines: nil, want: `{"SITE":"plant-1"}`},
		{defines: []string{"INDEX={i}", "SIZE={n}"}, want: `{"INDEX":7,"SITE":"plant-1","SIZE":100}`},
		{defines: []string{"ID=meter-{i}", "CID={id}"}, client: "m-{i}", want: `{"CID":"m-7","ID":"meter-7","SITE":"plant-1"}`},
		{defines: []string{`CFG={"dev":{i},"of":{n}}`}, want: `{"CFG":{"dev":7,"of":100},"SITE":"plant-1"}`},
		{defines: []string{`Q="0{i}"`}, want: `{"Q":"07","SITE":"plant-1"}`},
		{defines: []string{"X=a=b"}, want: `{"SITE":"plant-1","X":"a=b"}`},
		{defines: []string{"CID={id}"}, err: "{id} needs a --client-id"},
		{defines: []string{"X={x}"}, err: "unknown field {x}"},
		{defines: []string{"X=1", "X=2"}, err: "defined twice"},
		{defines: []string{"SITE=2"}, err: "defined twice"},
		{defines: []string{"NOVALUE"}, err: "want KEY=VALUE"},
		{defines: []string{"mqtt=1"}, err: "not a usable global name"},
		{defines: []string{"a b=1"}, err: "not a usable global name"},
		{defines: []string{"X=1"}, client: "c-{z}", err: "unknown field {z}"},
	} {
		g, err := GlobalsFor(tc.defines, tc.client, base, 7, 100)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.defines, err, tc.err)
			}
			continue
		}
		b, _ := json.Marshal(g)
		if err != nil || string(b) != tc.want {
			t.Errorf("%q: %s %v, want %s", tc.defines, b, err, tc.want)
		}
	}
	if len(base) != 1 {
		t.Errorf("GlobalsFor changed its base: %v", base)
	}
}
