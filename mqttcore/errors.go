package mqttcore

import "fmt"

// Field names used in ArgError.Field: the spec's option and parameter names, so a message can
// name what the script wrote.
const (
	FieldURL             = "url"
	FieldKeepAlive       = "keepalive"
	FieldClientID        = "clientId"
	FieldProtocolID      = "protocolId"
	FieldProtocolVersion = "protocolVersion"
	FieldReconnectPeriod = "reconnectPeriod"
	FieldConnectTimeout  = "connectTimeout"
	FieldUsername        = "username"
	FieldPassword        = "password"
	FieldReconnectCount  = "reconnectCount"
	FieldSendBuffSize    = "sendBuffSize"
	FieldRecvBuffSize    = "recvBuffSize"
	FieldTopic           = "topic"
	FieldMessage         = "message"
	FieldQoS             = "qos"
)

// ArgError is an invalid argument: MqttError 10. Field is the spec's name of the offending
// option or parameter (one of the Field constants) and Reason says what is wrong with it.
// errors.Is(err, IllegalArgument) is true for every *ArgError, and errors.As(err, &code) with a
// Code target yields IllegalArgument.
type ArgError struct {
	Field  string
	Reason string
}

// Error implements error, e.g. `mqtt: illegal argument keepalive: must be 0 to 2147483647 s`.
func (e *ArgError) Error() string {
	return fmt.Sprintf("mqtt: illegal argument %s: %s", e.Field, e.Reason)
}

// Unwrap returns IllegalArgument, which makes errors.Is and errors.As see the code.
func (e *ArgError) Unwrap() error { return IllegalArgument }

// Code returns IllegalArgument.
func (e *ArgError) Code() Code { return IllegalArgument }

// argErrorf builds an *ArgError for field with a formatted reason.
func argErrorf(field, format string, args ...any) *ArgError {
	return &ArgError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
