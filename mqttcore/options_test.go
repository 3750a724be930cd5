package mqttcore_test

import (
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

func TestDefaultOptions(t *testing.T) {
	o := mqttcore.DefaultOptions()
	want := mqttcore.Options{
		KeepAlive:       60 * time.Second,
		ProtocolID:      "MQTT",
		ProtocolVersion: 4,
		ReconnectPeriod: 1000 * time.Millisecond,
		ConnectTimeout:  30000 * time.Millisecond,
		ReconnectCount:  0,
		SendBuffSize:    2560,
		RecvBuffSize:    512,
	}
	if o != want {
		t.Fatalf("DefaultOptions() = %+v, want %+v", o, want)
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("DefaultOptions().Validate() = %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range optionCases {
		t.Run(tc.name, func(t *testing.T) {
			o := mqttcore.DefaultOptions()
			tc.set(&o)
			err := o.Validate()
			checkArgErr(t, err, tc.field)
		})
	}
}

// checkArgErr checks that err is nil when field is "", else an *ArgError for field that is
// also IllegalArgument.
func checkArgErr(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	var ae *mqttcore.ArgError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *ArgError for %s", err, field)
	}
	if ae.Field != field {
		t.Fatalf("err = %v, want field %s", err, field)
	}
	if !errors.Is(err, mqttcore.IllegalArgument) {
		t.Fatalf("errors.Is(%v, IllegalArgument) = false", err)
	}
}

func TestValidateCredentialDoesNotEchoSecret(t *testing.T) {
	err := mqttcore.ValidatePassword("hunter2\x01")
	if err == nil || regexp.MustCompile("hunter2").MatchString(err.Error()) {
		t.Fatalf("ValidatePassword error = %v; want an error without the password", err)
	}
}

func TestValidateClientIDExplicitEmpty(t *testing.T) {
	checkArgErr(t, mqttcore.ValidateClientID(""), mqttcore.FieldClientID)
}

func TestWireKeepAlive(t *testing.T) {
	tt := []struct {
		name string
		in   time.Duration
		want time.Duration
	}{
		{"off", 0, 0},
		{"default", 60 * time.Second, 60 * time.Second},
		{"sub-second truncated", 1500 * time.Millisecond, time.Second},
		{"below a second", 999 * time.Millisecond, 0},
		{"16-bit max", 65535 * time.Second, 65535 * time.Second},
		{"clamped", 65536 * time.Second, 65535 * time.Second},
		{"spec max clamped", mqttcore.MaxKeepAlive, 65535 * time.Second},
		{"negative", -time.Second, 0},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			o := mqttcore.DefaultOptions()
			o.KeepAlive = tc.in
			if got := o.WireKeepAlive(); got != tc.want {
				t.Fatalf("WireKeepAlive() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReconnectsForever(t *testing.T) {
	o := mqttcore.DefaultOptions()
	if o.ReconnectsForever() {
		t.Fatal("default reconnects forever")
	}
	o.ReconnectCount = mqttcore.ReconnectForever
	if !o.ReconnectsForever() {
		t.Fatal("1855 does not reconnect forever")
	}
}

func TestGenerateClientID(t *testing.T) {
	re := regexp.MustCompile(`^mqttjs_[0-9]{8}$`)
	seen := map[string]bool{}
	for range 100 {
		id := mqttcore.GenerateClientID()
		if !re.MatchString(id) {
			t.Fatalf("GenerateClientID() = %q", id)
		}
		if err := mqttcore.ValidateClientID(id); err != nil {
			t.Fatalf("generated id %q invalid: %v", id, err)
		}
		seen[id] = true
	}
	if len(seen) < 90 {
		t.Fatalf("only %d distinct ids in 100", len(seen))
	}
}

func TestPublishSubscribeOptionsValidate(t *testing.T) {
	tt := []struct {
		qos   byte
		field string
	}{{0, ""}, {1, ""}, {2, ""}, {3, mqttcore.FieldQoS}, {255, mqttcore.FieldQoS}}
	for _, tc := range tt {
		t.Run(fmt.Sprint("qos", tc.qos), func(t *testing.T) {
			checkArgErr(t, mqttcore.PublishOptions{QoS: tc.qos, Retain: true, Dup: true}.Validate(), tc.field)
			checkArgErr(t, mqttcore.SubscribeOptions{QoS: tc.qos, Binary: true}.Validate(), tc.field)
		})
	}
}

func ExampleOptions_Validate() {
	o := mqttcore.DefaultOptions()
	o.ClientID = "testClientId"
	o.KeepAlive = 300 * time.Second
	fmt.Println(o.Validate())

	o.ReconnectCount = 1000
	err := o.Validate()
	var ae *mqttcore.ArgError
	fmt.Println(errors.As(err, &ae), ae.Field, errors.Is(err, mqttcore.IllegalArgument))
	fmt.Println(err)
	// Output:
	// <nil>
	// true reconnectCount true
	// mqtt: illegal argument reconnectCount: must be 0 to 999 or 1855, not 1000
}
