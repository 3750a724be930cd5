package conformance

import (
	"embed"
	"os"
)

// sampleFS holds verbatim copies of testdata/samples (TestEmbeddedSamplesVerbatim keeps them
// identical), so that `devicejs conformance` carries the samples in its binary.
//
//go:embed samples/*.js
var sampleFS embed.FS

// SampleSource returns the verbatim source of a documented sample, e.g. "sample1.js".
func SampleSource(file string) ([]byte, error) { return sampleFS.ReadFile("samples/" + file) }

func writeSample(path string, s Sample) error {
	src, err := SampleSource(s.File)
	if err != nil {
		return err
	}
	return os.WriteFile(path, src, 0o644)
}

// Sample describes what a documented sample does, read from its source.
type Sample struct {
	File       string
	TLS        bool   // mqtts://foo.bar:8883
	ClientCert bool   // sets ssl.cert/ssl.key (sample 3)
	User, Pass string // credentials the script sends
	Forever    bool   // reconnectCount 1855: retries silently, never reports error 1
	PubTopic   string // where its interval publishes ("" = it does not publish)
	PubPayload string
	InTopic    string // a topic it subscribes to, for a peer to publish on ("" = none)
	ErrorLine  bool   // prints 'ERROR: code ERRNO: n' from an error handler
	CloseLine  bool   // prints DISCONNECTED from a close handler
}

// Samples returns the six documented samples.
func Samples() []Sample {
	return []Sample{
		{File: "sample1.js", PubTopic: "bar_topic/device01", PubPayload: "Battery level : 10%",
			InTopic: "foo_topic/device01", ErrorLine: true, CloseLine: true},
		{File: "sample2.js", TLS: true, PubTopic: "bar_topic/device01", PubPayload: "Battery level : 10%",
			InTopic: "foo_topic/device01", ErrorLine: true, CloseLine: true},
		{File: "sample3.js", TLS: true, ClientCert: true, User: "foo", Pass: "foobar", Forever: true,
			PubTopic: "bar_topic/device01", PubPayload: "Battery level : 10%",
			InTopic: "foo_topic/device01", ErrorLine: true, CloseLine: true},
		{File: "sample4.js", Forever: true},
		{File: "sample5.js", Forever: true, PubTopic: "testtopic/subtopic/dummy", PubPayload: `{"message":"dummy"}`,
			InTopic: "shadowtopic/device01", ErrorLine: true},
		{File: "sample6.js", PubTopic: "foo_topic/device01/dummy", PubPayload: `{"message":"dummy"}`,
			InTopic: "foo_topic/device01/peer", ErrorLine: true, CloseLine: true},
	}
}

// credentials are the users a broker accepts: the sample's own login when it sends one.
func credentials(s Sample) map[string]string {
	if s.User != "" {
		return map[string]string{s.User: s.Pass}
	}
	return nil
}
