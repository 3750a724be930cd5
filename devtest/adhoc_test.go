package devtest_test

import (
	"os"
	"testing"

	"github.com/devicejs/devicejs/devtest"
)

func TestAdhoc(t *testing.T) {
	p := os.Getenv("DEVTEST_FILE")
	if p == "" {
		t.Skip("DEVTEST_FILE not set")
	}
	r := runFile(t, p, devtest.Options{})
	for _, tr := range r.Tests {
		t.Logf("%s %s output=%s", tr.Name, tr.Status, tr.Output)
	}
}
