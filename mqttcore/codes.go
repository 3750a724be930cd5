package mqttcore

import "fmt"

// Code is an MqttError code of the device spec ("mqtt errors table"). It implements error, so a
// method that refuses a request can return the code itself; Message gives the spec's .message.
type Code int

// The MqttError codes of the device spec.
const (
	OK                Code = 0   // No error
	ConnectionFailed  Code = 1   // Connection (reconnection) failure
	IllegalArgument   Code = 10  // Invalid argument error
	Disconnected      Code = 11  // publish/subscribe/unsubscribe while unconnected
	PublishFailed     Code = 12  // Publish failed
	SubscribeFailed   Code = 13  // Subscribe failed
	UnsubscribeFailed Code = 14  // Unsubscribe failed
	OtherError        Code = 255 // Other errors
)

// codeMessages is the .message column of the spec's mqtt errors table, verbatim.
var codeMessages = map[Code]string{
	OK:                "OK",
	ConnectionFailed:  "Connection failed",
	IllegalArgument:   "Illegal argument",
	Disconnected:      "Disconnected",
	PublishFailed:     "Publish failed",
	SubscribeFailed:   "Subscribe failed",
	UnsubscribeFailed: "Unsubscribe failed",
	OtherError:        "Other error",
}

// Known reports whether c is one of the codes in the spec's table.
func (c Code) Known() bool {
	_, ok := codeMessages[c]
	return ok
}

// Message returns the spec's .message text for c. A code outside the table has the message of
// OtherError ("Other error"); it never occurs in devicejs itself.
func (c Code) Message() string {
	if m, ok := codeMessages[c]; ok {
		return m
	}
	return codeMessages[OtherError]
}

// Error implements error, e.g. "mqtt error 10: Illegal argument".
func (c Code) Error() string {
	return fmt.Sprintf("mqtt error %d: %s", int(c), c.Message())
}

// String returns the same text as Error.
func (c Code) String() string { return c.Error() }

// Errno is a connection error number, the value of client.get('errnoConnect') ("errnoConnect
// table" of the device spec). 1 to 5 are the CONNACK return codes of MQTT 3.1.1 passed through;
// 6 is any other (mainly network) failure and 7 any TLS failure.
type Errno int

// The errnoConnect values of the device spec.
const (
	ErrnoOK                    Errno = 0 // OK
	ErrnoUnacceptableProtocol  Errno = 1 // Unacceptable protocol version (CONNACK 1)
	ErrnoIdentifierRejected    Errno = 2 // Identifier rejected (CONNACK 2)
	ErrnoServerUnavailable     Errno = 3 // Server unavailable (CONNACK 3)
	ErrnoBadUsernameOrPassword Errno = 4 // Bad user name or password (CONNACK 4)
	ErrnoNotAuthorized         Errno = 5 // Not authorized (CONNACK 5)
	ErrnoConnectionFailed      Errno = 6 // Connection failed: other errors, mainly network
	ErrnoTLS                   Errno = 7 // SSL/TLS error
)

// errnoSummaries is the Summary column of the spec's errnoConnect table, verbatim.
var errnoSummaries = [...]string{
	ErrnoOK:                    "OK",
	ErrnoUnacceptableProtocol:  "Unacceptable protocol version",
	ErrnoIdentifierRejected:    "Identifier rejected",
	ErrnoServerUnavailable:     "Server unavailable",
	ErrnoBadUsernameOrPassword: "Bad user name or password",
	ErrnoNotAuthorized:         "Not authorized",
	ErrnoConnectionFailed:      "Connection failed",
	ErrnoTLS:                   "SSL/TLS error",
}

// Summary returns the spec's summary for e; values outside 0..7 are "Reserved".
func (e Errno) Summary() string {
	if e >= 0 && int(e) < len(errnoSummaries) {
		return errnoSummaries[e]
	}
	return "Reserved"
}

// String returns e's number and summary, e.g. "errnoConnect 7 (SSL/TLS error)".
func (e Errno) String() string {
	return fmt.Sprintf("errnoConnect %d (%s)", int(e), e.Summary())
}

// ErrnoFromConnack maps an MQTT 3.1.1 CONNACK return code to errnoConnect: 0 to 5 pass through
// unchanged, anything else (not defined by MQTT 3.1.1) is ErrnoConnectionFailed.
func ErrnoFromConnack(returnCode byte) Errno {
	if returnCode <= 5 {
		return Errno(returnCode)
	}
	return ErrnoConnectionFailed
}

// ErrnoFromError classifies a failed connection attempt: nil is ErrnoOK, a TLS error (see
// IsTLSError) is ErrnoTLS and anything else is ErrnoConnectionFailed. CONNACK refusals are
// mapped with ErrnoFromConnack instead.
func ErrnoFromError(err error) Errno {
	switch {
	case err == nil:
		return ErrnoOK
	case IsTLSError(err):
		return ErrnoTLS
	default:
		return ErrnoConnectionFailed
	}
}
