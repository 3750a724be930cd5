package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/devicejs/devicejs"

// rule is what one package may import: its allowed devicejs imports (direct, non-test; paths
// relative to the module, "." for the root) and the third-party import path fragments it must
// not reach even indirectly.
type rule struct {
	may   []string
	never []string
}

var (
	noMQTTStack = []string{"paho.mqtt.golang", "mochi-mqtt"}
	noGoja      = []string{"dop251/goja"}
	noTestKits  = []string{module + "/internal/testbroker", module + "/internal/leakcheck", module + "/report/reporttest", module + "/runtime/runtimetest", "go.uber.org/goleak"}
)

func join(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

// rules is the import map of docs/architecture.md. Every package of the module must have one.
var rules = map[string]rule{
	// The loop and the sandbox: goja only, never the MQTT stack.
	"runtime":               {may: []string{"runtime/sandbox", "internal/gojainternal"}, never: join(noMQTTStack, noTestKits)},
	"runtime/sandbox":       {may: []string{"internal/gojainternal"}, never: join(noMQTTStack, noTestKits)},
	"internal/gojainternal": {never: join(noMQTTStack, noTestKits)},
	"runtime/runtimetest":   {may: []string{"runtime"}, never: noMQTTStack},
	// The MQTT session: paho only, never goja.
	"mqttcore":          {may: []string{"internal/mqttwire"}, never: join(noGoja, []string{"mochi-mqtt"}, noTestKits)},
	"internal/mqttwire": {never: join(noGoja, noMQTTStack, noTestKits)},
	// The JS mqtt object joins the two.
	"bindings": {may: []string{"runtime", "runtime/sandbox", "mqttcore", "internal/gojainternal"}, never: join([]string{"mochi-mqtt"}, noTestKits)},
	// Public leaves.
	"link":   {never: join(noGoja, noMQTTStack, noTestKits)},
	"trace":  {may: []string{"mqttcore"}, never: join(noGoja, []string{"mochi-mqtt"}, noTestKits)},
	"broker": {never: join(noGoja, []string{"paho.mqtt.golang"}, noTestKits)},
	// The embedding API.
	".": {may: []string{"bindings", "broker", "internal/embedroute", "internal/srcfile", "link", "mqttcore", "runtime", "runtime/sandbox", "trace", "internal/isolation", "internal/childproc", "internal/exitcode"}, never: noTestKits},
	// Built on the embedding API.
	"devtest": {may: []string{".", "broker", "internal/embedroute", "internal/mqttwire", "internal/pki", "internal/srcfile", "internal/syncbuf", "link", "mqttcore", "runtime", "runtime/sandbox", "internal/gojainternal"}, never: noTestKits},
	"fleet":   {may: []string{".", "internal/embedroute", "internal/mqttwire", "link", "mqttcore", "runtime", "runtime/sandbox", "internal/childproc", "internal/exitcode", "trace"}, never: noTestKits},
	"report":  {may: []string{"fleet", "mqttcore", "trace"}, never: noTestKits},
	// Internal services.
	"internal/conformance": {may: []string{".", "devtest"}, never: noTestKits},
	"internal/check":       {may: []string{"mqttcore", "runtime", "runtime/sandbox"}, never: join([]string{"mochi-mqtt"}, noTestKits)},
	"internal/embedroute":  {may: []string{"internal/pki"}, never: join(noGoja, noMQTTStack, noTestKits)},
	"internal/pki":         {never: join(noGoja, noMQTTStack, noTestKits)},
	"internal/srcfile":     {may: []string{"runtime", "runtime/sandbox"}, never: join(noMQTTStack, noTestKits)},
	"internal/syncbuf":     {never: join(noGoja, noMQTTStack, noTestKits)},
	"internal/isolation":   {may: []string{"internal/childproc", "internal/exitcode", "trace", "mqttcore", "runtime"}, never: join(noMQTTStack[1:], noTestKits)},
	"internal/childproc":   {may: []string{"internal/exitcode"}, never: join(noGoja, noMQTTStack, noTestKits)},
	"internal/exitcode":    {never: join(noGoja, noMQTTStack, noTestKits)},
	"internal/k8sjob":      {never: join(noGoja, noMQTTStack)},
	"internal/archtest":    {},
	// The CLI is the top: it may import any non-test package of the module.
	"cmd/devicejs/cli":     {may: []string{"*"}, never: noTestKits},
	"cmd/devicejs":         {may: []string{"cmd/devicejs/cli"}},
	"cmd/devicejs/gendocs": {may: []string{"cmd/devicejs/cli"}},
	// Test kits and tools (imported by tests and benchmarks only).
	"internal/testbroker":      {may: []string{"broker", "internal/mqttwire", "internal/pki", "internal/syncbuf"}},
	"internal/leakcheck":       {},
	"internal/faultproxy":      {may: []string{"internal/mqttwire"}, never: noGoja},
	"internal/reliability":     {},
	"report/reporttest":        {},
	"types":                    {},
	"scripts/bench":            {},
	"scripts/bench/devprofile": {may: []string{".", "broker", "fleet"}},
	"scripts/bench/pahobench":  {never: noGoja},
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// TestImportRules checks every package of the module against rules.
func TestImportRules(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go tool is needed to list the packages:", err)
	}
	cmd := exec.Command(gobin, "list", "-json", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel == "" {
			rel = "."
		}
		r, ok := rules[rel]
		if !ok {
			t.Errorf("package %s has no import rule: add it to rules (and to docs/architecture.md)", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if dep == "" {
				dep = "."
			}
			if !allowed(r.may, dep) {
				t.Errorf("%s imports %s: not in its rule (docs/architecture.md)", rel, dep)
			}
		}
		for _, d := range p.Deps {
			for _, bad := range r.never {
				if strings.Contains(d, bad) {
					t.Errorf("%s depends on %s, which it must never reach", rel, d)
				}
			}
		}
	}
	if seen < 20 {
		t.Fatalf("go list found %d packages; the module has more than 20", seen)
	}
}

func allowed(may []string, dep string) bool {
	for _, m := range may {
		if m == dep || (m == "*" && !slices.Contains(noTestKits, module+"/"+dep)) {
			return true
		}
	}
	return false
}
