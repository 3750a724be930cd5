package devicejs_test

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/devicejs/devicejs"
)

// TestEmbeddingDocFacts keeps docs/embedding.md complete and self-contained (issue 22,
// finding 8): its Config listing names every Config field, its table every Ending, it cites no
// source file and no date, it says how to build against an unpublished module, and it states
// the goroutines a connection costs with the bound TestGoroutinesPerConnection checks.
func TestEmbeddingDocFacts(t *testing.T) {
	b, err := os.ReadFile("docs/embedding.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	listing := regexp.MustCompile("(?s)type Config struct \\{\n(.*?)\n\\}").FindStringSubmatch(doc)
	if listing == nil {
		t.Fatal("no Config listing")
	}
	ct := reflect.TypeFor[devicejs.Config]()
	for i := range ct.NumField() {
		if f := ct.Field(i); f.IsExported() && !regexp.MustCompile(`(?m)^\s*`+f.Name+`\b`).MatchString(listing[1]) {
			t.Errorf("the Config listing omits %s", f.Name)
		}
	}
	for _, name := range []string{"NotStarted", "Finished", "ForElapsed", "Canceled", "ScriptFailed"} {
		if !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("the endings table has no row for %s", name)
		}
	}
	if m := regexp.MustCompile(`\b[\w/]+\.go\b`).FindAllString(doc, -1); len(m) > 0 {
		t.Errorf("cites source files: %q", m)
	}
	if m := regexp.MustCompile(`\b20\d\d-\d\d-\d\d\b`).FindAllString(doc, -1); len(m) > 0 {
		t.Errorf("cites dates: %q", m)
	}
	for _, want := range []string{"require github.com/devicejs/devicejs", "replace github.com/devicejs/devicejs =>",
		fmt.Sprintf("the test fails above %d", maxGoroutinesPerConnection), "goroutines on the device side",
		"HookError", "ConfigError", "ErrInvalidConfig", "Errno", "MaxBudget", "TestFailedResultHoldsNoVM"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/embedding.md does not say %q", want)
		}
	}
}
