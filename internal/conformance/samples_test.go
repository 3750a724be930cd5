package conformance_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/devicejs/devicejs/internal/conformance"
)

// forEach runs f for each sample on each broker, in parallel subtests named sample/broker.
func forEach(t *testing.T, f func(t conformance.T, env *conformance.Env, kind string, s conformance.Sample)) {
	env := testEnv()
	for _, s := range conformance.Samples() {
		for _, kind := range env.Kinds {
			t.Run(s.File+"/"+kind, func(t *testing.T) {
				t.Parallel()
				f(t, env, kind, s)
			})
		}
	}
}

// The scenarios and their expectations are in scenarios.go (shared with `devicejs conformance`).

func TestSamplesBrokerUp(t *testing.T)      { forEach(t, conformance.BrokerUp) }
func TestSamplesBrokerDown(t *testing.T)    { forEach(t, conformance.BrokerDown) }
func TestSamplesBrokerRestart(t *testing.T) { forEach(t, conformance.BrokerRestart) }
func TestSamplesWrongPassword(t *testing.T) { forEach(t, conformance.WrongPassword) }
func TestSamplesWrongCA(t *testing.T)       { forEach(t, conformance.WrongCA) }

// TestEmbeddedSamplesVerbatim keeps the samples carried by the binary identical to testdata.
func TestEmbeddedSamplesVerbatim(t *testing.T) {
	for _, s := range conformance.Samples() {
		want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "samples", s.File))
		if err != nil {
			t.Fatal(err)
		}
		got, err := conformance.SampleSource(s.File)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: embedded copy differs from testdata (err %v)", s.File, err)
		}
	}
}
