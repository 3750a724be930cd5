package fleet

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/devicejs/devicejs/runtime"
)

// The fields of an instance's templates (Config.ClientID and Config.Defines values): "{i}" its
// index, "{n}" the fleet's size N, "{id}" its ClientID template expanded (only when that is set).
// A field is "{", letters, "}"; any other field name is an error, so that a misspelt field
// never reaches the wire as text. Other braces (JSON's "{"a": 1}", "{}") are text.

// expandTemplate replaces the fields of s for instance i of a fleet of n; clientID is the
// expanded Config.ClientID ("" when it is unset, and then "{id}" is an error).
func expandTemplate(s string, i, n int, clientID string) (string, error) {
	var b strings.Builder
	for rest := s; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		name := rest[open+1:]
		j := 0
		for j < len(name) && (name[j] >= 'a' && name[j] <= 'z' || name[j] >= 'A' && name[j] <= 'Z') {
			j++
		}
		if j == 0 || j == len(name) || name[j] != '}' { // not a field: a literal brace
			b.WriteString(rest[:open+1])
			rest = rest[open+1:]
			continue
		}
		b.WriteString(rest[:open])
		switch field := name[:j]; field {
		case "i":
			b.WriteString(strconv.Itoa(i))
		case "n":
			b.WriteString(strconv.Itoa(n))
		case "id":
			if clientID == "" {
				return "", fmt.Errorf("template %q: {id} needs a --client-id template", s)
			}
			b.WriteString(clientID)
		default:
			return "", fmt.Errorf("template %q: unknown field {%s} (want {i}, {n} or {id})", s, field)
		}
		rest = name[j+1:]
	}
}

// GlobalsFor returns the globals of instance i of a fleet of n: base (Config.Device.Globals)
// with each "KEY=VALUE" of defines added, its VALUE's template fields expanded (clientID is the
// Config.ClientID template, for "{id}") and read as by runtime.ParseGlobal. A name given twice
// is an error. `devicejs run` uses it as instance 0 of a fleet of 1.
func GlobalsFor(defines []string, clientID string, base runtime.Globals, i, n int) (runtime.Globals, error) {
	if len(defines) == 0 {
		return base, nil
	}
	id := ""
	if clientID != "" {
		var err error
		if id, err = expandTemplate(clientID, i, n, ""); err != nil {
			return nil, err
		}
	}
	g := make(runtime.Globals, len(base)+len(defines))
	for k, v := range base {
		g[k] = v
	}
	for _, def := range defines {
		k, v, ok := strings.Cut(def, "=")
		if !ok {
			return nil, fmt.Errorf("--define %q: want KEY=VALUE", def)
		}
		v, err := expandTemplate(v, i, n, id)
		if err != nil {
			return nil, fmt.Errorf("--define %s: %w", k, err)
		}
		name, val, err := runtime.ParseGlobal(k + "=" + v)
		if err != nil {
			return nil, fmt.Errorf("--define %q: %w", def, err)
		}
		if _, dup := g[name]; dup {
			return nil, fmt.Errorf("--define %q: %s is defined twice", def, name)
		}
		g[name] = val
	}
	return g, nil
}
