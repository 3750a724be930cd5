package conformance_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/devicejs/devicejs/internal/conformance"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// binary is the devicejs executable under test, built once (with -race when the tests are).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "devicejs-conformance")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "devicejs")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "github.com/devicejs/devicejs/cmd/devicejs")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building devicejs: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testEnv runs the scenarios against the two real brokers: mochi in process and mosquitto.
func testEnv() *conformance.Env {
	return &conformance.Env{
		Binary: binary,
		Kinds:  []string{"mochi", "mosquitto"},
		Start: func(t conformance.T, kind string, spec conformance.BrokerSpec) conformance.Broker {
			tb := t.(testing.TB)
			opts := []testbroker.Option{testbroker.WithTLS(testbroker.TLS{CA: spec.CA, Cert: spec.Server, RequireClientCert: spec.RequireClientCert})}
			for u, p := range spec.Users {
				opts = append(opts, testbroker.WithUser(u, p))
			}
			if kind == "mosquitto" {
				return testbroker.Mosquitto(tb, opts...)
			}
			return testbroker.Mochi(tb, opts...)
		},
	}
}
