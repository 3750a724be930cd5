package check

import (
	"errors"
	"time"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/token"

	"github.com/devicejs/devicejs/mqttcore"
)

// The events a client emits (docs/api.md, `.on`).
var clientEvents = map[string]bool{"connect": true, "reconnect": true, "close": true, "error": true, "end": true, "message": true}

// visit checks one node: syntax newer than ES5, and calls of mqtt.connect, mqtt.set and the
// client methods.
func (c *checker) visit(n ast.Node) {
	c.checkES5(n)
	call, ok := n.(*ast.CallExpression)
	if !ok {
		return
	}
	dot, ok := call.Callee.(*ast.DotExpression)
	if !ok {
		return
	}
	method := dot.Identifier.Name.String()
	recv, _ := dot.Left.(*ast.Identifier)
	args := call.ArgumentList
	arg := func(i int) ast.Expression {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	if recv != nil && recv.Name.String() == "mqtt" {
		switch method {
		case "connect":
			c.checkConnect(arg(0), arg(1))
		case "set":
			if name, ok := stringLit(arg(0)); ok && name != mqttcore.SettingCA && name != mqttcore.SettingCert && name != mqttcore.SettingKey {
				c.warn(arg(0).Idx0(), "mqtt.set(%q): unknown setting, ignored by the device (known: ssl.ca, ssl.cert, ssl.key)", name)
			}
		}
		return
	}
	switch method {
	case "subscribe":
		if topic, ok := stringLit(arg(0)); ok {
			if err := mqttcore.ValidateTopicFilter(topic); err != nil {
				c.warn(arg(0).Idx0(), "subscribe(%q): %s; the device returns MqttError 10", topic, reason(err))
			} else if _, seen := c.subs[topic]; !seen {
				c.subs[topic] = arg(0).Idx0()
				c.order = append(c.order, topic)
			}
		}
		c.checkQoS("subscribe", arg(1))
	case "unsubscribe":
		if topic, ok := stringLit(arg(0)); ok {
			if err := mqttcore.ValidateTopicFilter(topic); err != nil {
				c.warn(arg(0).Idx0(), "unsubscribe(%q): %s; the device returns MqttError 10", topic, reason(err))
			}
		}
	case "publish":
		if topic, ok := stringLit(arg(0)); ok {
			if err := mqttcore.ValidateTopicName(topic); err != nil {
				c.warn(arg(0).Idx0(), "publish(%q): %s; the device returns MqttError 10", topic, reason(err))
			} else if msg, ok := stringLit(arg(1)); ok && !mqttcore.PublishFits(topic, len(msg), mqttcore.MaxBuffSize) {
				c.warn(arg(1).Idx0(), "publish(%q): topic + message + 9 bytes exceed the largest sendBuffSize (%d); the device returns MqttError 10", topic, mqttcore.MaxBuffSize)
			}
		}
		c.checkQoS("publish", arg(2))
	case "on":
		if ev, ok := stringLit(arg(0)); ok && !clientEvents[ev] {
			c.warn(arg(0).Idx0(), "on(%q): not a client event (connect, reconnect, close, error, end, message); the handler never runs", ev)
		}
	}
}

// finish reports checks over the whole program.
func (c *checker) finish() {
	if n := len(c.order); n > mqttcore.DeviceMaxSubscriptions {
		extra := c.order[mqttcore.DeviceMaxSubscriptions]
		c.warn(c.subs[extra], "%d distinct subscribe topics; the device holds at most %d subscriptions per session (SubscribeFailed, code 13, beyond that)",
			n, mqttcore.DeviceMaxSubscriptions)
	}
}

// checkConnect checks a literal URL and the literal fields of an options object literal, one
// field at a time against mqttcore's validation.
func (c *checker) checkConnect(url, opts ast.Expression) {
	if u, ok := stringLit(url); ok {
		if _, err := mqttcore.ParseURL(u); err != nil {
			c.warn(url.Idx0(), "mqtt.connect(%q): %s; the device returns undefined", u, reason(err))
		}
	}
	obj, ok := opts.(*ast.ObjectLiteral)
	if !ok {
		return
	}
	fields := map[string]ast.Expression{}
	for _, p := range obj.Value {
		kp, ok := p.(*ast.PropertyKeyed)
		if !ok || kp.Computed {
			continue
		}
		if k, ok := propName(kp.Key); ok {
			fields[k] = kp.Value
		}
	}
	for _, p := range obj.Value {
		kp, ok := p.(*ast.PropertyKeyed)
		if !ok || kp.Computed {
			continue
		}
		k, _ := propName(kp.Key)
		o := mqttcore.DefaultOptions()
		if !setOption(&o, k, kp.Value) {
			continue
		}
		// protocolId and protocolVersion are checked as a pair.
		if k == "protocolId" {
			if v, ok := fields["protocolVersion"]; ok && !setOption(&o, "protocolVersion", v) {
				continue
			}
		}
		if k == "protocolVersion" {
			if _, ok := fields["protocolId"]; ok {
				continue // reported with protocolId
			}
			if o.ProtocolVersion == 3 {
				o.ProtocolID = mqttcore.ProtocolIDMQIsdp
			}
		}
		if err := o.Validate(); err != nil {
			var ae *mqttcore.ArgError
			if errors.As(err, &ae) {
				c.warn(kp.Value.Idx0(), "mqtt.connect option %s: %s; the device returns undefined", ae.Field, ae.Reason)
			}
		}
	}
}

// setOption sets option k of o from the literal v; false if k is unknown or v is not a literal
// of the expected type.
func setOption(o *mqttcore.Options, k string, v ast.Expression) bool {
	if s, ok := stringLit(v); ok {
		switch k {
		case "clientId":
			o.ClientID = s
			return s != "" // "" is refused by the binding itself
		case "protocolId":
			o.ProtocolID = s
		case "username":
			o.Username = &s
		case "password":
			o.Password = &s
		default:
			return false
		}
		return true
	}
	n, ok := intLit(v)
	if !ok {
		return false
	}
	clampDur := func(unit time.Duration) time.Duration {
		if n > int64(time.Duration(1<<62)/unit) || n < -int64(time.Duration(1<<62)/unit) {
			return -1
		}
		return time.Duration(n) * unit
	}
	switch k {
	case "keepalive":
		o.KeepAlive = clampDur(time.Second)
	case "protocolVersion":
		o.ProtocolVersion = int(n)
	case "reconnectPeriod":
		o.ReconnectPeriod = clampDur(time.Millisecond)
	case "connectTimeout":
		o.ConnectTimeout = clampDur(time.Millisecond)
	case "reconnectCount":
		o.ReconnectCount = int(n)
	case "sendBuffSize":
		o.SendBuffSize = int(n)
	case "recvBuffSize":
		o.RecvBuffSize = int(n)
	default:
		return false
	}
	return true
}

// checkQoS checks a literal qos in an options object literal.
func (c *checker) checkQoS(method string, opts ast.Expression) {
	obj, ok := opts.(*ast.ObjectLiteral)
	if !ok {
		return
	}
	for _, p := range obj.Value {
		kp, ok := p.(*ast.PropertyKeyed)
		if !ok || kp.Computed {
			continue
		}
		if k, _ := propName(kp.Key); k != "qos" {
			continue
		}
		if n, ok := intLit(kp.Value); ok && (n < 0 || n > 2) {
			c.warn(kp.Value.Idx0(), "%s option qos: must be 0, 1 or 2, not %d; the device returns MqttError 10", method, n)
		}
	}
}

// stringLit returns the value of a string literal.
func stringLit(e ast.Expression) (string, bool) {
	if s, ok := e.(*ast.StringLiteral); ok {
		return s.Value.String(), true
	}
	return "", false
}

// intLit returns the value of an integer literal, possibly negated.
func intLit(e ast.Expression) (int64, bool) {
	neg := false
	if u, ok := e.(*ast.UnaryExpression); ok && u.Operator == token.MINUS && !u.Postfix {
		neg, e = true, u.Operand
	}
	n, ok := e.(*ast.NumberLiteral)
	if !ok {
		return 0, false
	}
	var v int64
	switch x := n.Value.(type) {
	case int64:
		v = x
	case float64:
		if x != float64(int64(x)) {
			return 0, false
		}
		v = int64(x)
	default:
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// propName is the name of a property key (identifier or string literal).
func propName(e ast.Expression) (string, bool) {
	switch k := e.(type) {
	case *ast.Identifier:
		return k.Name.String(), true
	case *ast.StringLiteral:
		return k.Value.String(), true
	}
	return "", false
}

// reason is the reason of an *mqttcore.ArgError, or the error text.
func reason(err error) string {
	var ae *mqttcore.ArgError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return err.Error()
}
