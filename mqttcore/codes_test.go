package mqttcore_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/devicejs/devicejs/mqttcore"
)

func TestCodeMessages(t *testing.T) {
	// The spec's mqtt errors table, .code and .message.
	tt := []struct {
		code mqttcore.Code
		num  int
		msg  string
	}{
		{mqttcore.OK, 0, "OK"},
		{mqttcore.ConnectionFailed, 1, "Connection failed"},
		{mqttcore.IllegalArgument, 10, "Illegal argument"},
		{mqttcore.Disconnected, 11, "Disconnected"},
		{mqttcore.PublishFailed, 12, "Publish failed"},
		{mqttcore.SubscribeFailed, 13, "Subscribe failed"},
		{mqttcore.UnsubscribeFailed, 14, "Unsubscribe failed"},
		{mqttcore.OtherError, 255, "Other error"},
	}
	for _, tc := range tt {
		t.Run(tc.msg, func(t *testing.T) {
			if int(tc.code) != tc.num {
				t.Errorf("code = %d, want %d", int(tc.code), tc.num)
			}
			if got := tc.code.Message(); got != tc.msg {
				t.Errorf("Message() = %q, want %q", got, tc.msg)
			}
			if !tc.code.Known() {
				t.Errorf("Known() = false")
			}
			want := fmt.Sprintf("mqtt error %d: %s", tc.num, tc.msg)
			if got := tc.code.Error(); got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
		})
	}
	if c := mqttcore.Code(2); c.Known() || c.Message() != "Other error" {
		t.Errorf("Code(2): Known() = %v, Message() = %q", c.Known(), c.Message())
	}
}

func TestErrno(t *testing.T) {
	// The spec's errnoConnect table.
	tt := []struct {
		errno   mqttcore.Errno
		num     int
		summary string
	}{
		{mqttcore.ErrnoOK, 0, "OK"},
		{mqttcore.ErrnoUnacceptableProtocol, 1, "Unacceptable protocol version"},
		{mqttcore.ErrnoIdentifierRejected, 2, "Identifier rejected"},
		{mqttcore.ErrnoServerUnavailable, 3, "Server unavailable"},
		{mqttcore.ErrnoBadUsernameOrPassword, 4, "Bad user name or password"},
		{mqttcore.ErrnoNotAuthorized, 5, "Not authorized"},
		{mqttcore.ErrnoConnectionFailed, 6, "Connection failed"},
		{mqttcore.ErrnoTLS, 7, "SSL/TLS error"},
		{mqttcore.Errno(8), 8, "Reserved"},
		{mqttcore.Errno(-1), -1, "Reserved"},
	}
	for _, tc := range tt {
		t.Run(tc.summary, func(t *testing.T) {
			if int(tc.errno) != tc.num || tc.errno.Summary() != tc.summary {
				t.Errorf("errno %d %q, want %d %q", int(tc.errno), tc.errno.Summary(), tc.num, tc.summary)
			}
		})
	}
}

func TestErrnoFromConnack(t *testing.T) {
	for rc := range 256 {
		want := mqttcore.Errno(rc)
		if rc > 5 {
			want = mqttcore.ErrnoConnectionFailed
		}
		if got := mqttcore.ErrnoFromConnack(byte(rc)); got != want {
			t.Errorf("ErrnoFromConnack(%d) = %v, want %v", rc, got, want)
		}
	}
}

func TestErrnoFromError(t *testing.T) {
	tt := []struct {
		name string
		err  error
		want mqttcore.Errno
	}{
		{"nil", nil, mqttcore.ErrnoOK},
		{"network", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), mqttcore.ErrnoConnectionFailed},
		{"self-signed", fmt.Errorf("connect: %w", mqttcore.ErrSelfSigned), mqttcore.ErrnoTLS},
		{"bad CA", &mqttcore.CertError{Setting: mqttcore.SettingCA, Err: errors.New("x")}, mqttcore.ErrnoTLS},
		{"flattened tls message", errors.New("network Error : tls: failed to verify certificate"), mqttcore.ErrnoTLS},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			if got := mqttcore.ErrnoFromError(tc.err); got != tc.want {
				t.Errorf("ErrnoFromError(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestArgErrorIsIllegalArgument(t *testing.T) {
	var err error = &mqttcore.ArgError{Field: mqttcore.FieldQoS, Reason: "must be 0, 1 or 2"}
	wrapped := fmt.Errorf("publish: %w", err)
	if !errors.Is(wrapped, mqttcore.IllegalArgument) {
		t.Fatal("errors.Is(wrapped ArgError, IllegalArgument) = false")
	}
	if errors.Is(wrapped, mqttcore.Disconnected) {
		t.Fatal("errors.Is(ArgError, Disconnected) = true")
	}
	var code mqttcore.Code
	if !errors.As(wrapped, &code) || code != mqttcore.IllegalArgument {
		t.Fatalf("errors.As(ArgError, *Code) = %v", code)
	}
	if got, want := err.Error(), "mqtt: illegal argument qos: must be 0, 1 or 2"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if c := (&mqttcore.ArgError{}).Code(); c != mqttcore.IllegalArgument {
		t.Fatalf("Code() = %v", c)
	}
	// A bare Code is an error too, comparable with errors.Is.
	if !errors.Is(fmt.Errorf("x: %w", mqttcore.Disconnected), mqttcore.Disconnected) {
		t.Fatal("errors.Is(Disconnected) = false")
	}
}

func ExampleCode() {
	var err error = mqttcore.Disconnected
	fmt.Println(err)
	fmt.Println(int(mqttcore.PublishFailed), mqttcore.PublishFailed.Message())
	// Output:
	// mqtt error 11: Disconnected
	// 12 Publish failed
}

func ExampleErrnoFromConnack() {
	fmt.Println(mqttcore.ErrnoFromConnack(4))
	fmt.Println(mqttcore.ErrnoFromError(mqttcore.ErrSelfSigned))
	// Output:
	// errnoConnect 4 (Bad user name or password)
	// errnoConnect 7 (SSL/TLS error)
}
