package mqttcore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/mqttcore"
)

func TestValidateTopicName(t *testing.T) {
	for _, tc := range topicCases {
		t.Run(tc.name, func(t *testing.T) {
			field := mqttcore.FieldTopic
			if tc.isName {
				field = ""
			}
			checkArgErr(t, mqttcore.ValidateTopicName(tc.in), field)
		})
	}
}

func TestValidateTopicFilter(t *testing.T) {
	for _, tc := range topicCases {
		t.Run(tc.name, func(t *testing.T) {
			field := mqttcore.FieldTopic
			if tc.filter {
				field = ""
			}
			checkArgErr(t, mqttcore.ValidateTopicFilter(tc.in), field)
		})
	}
}

func TestBufferFits(t *testing.T) {
	topic := strings.Repeat("t", 10)
	tt := []struct {
		name         string
		topic        string
		payload, buf int
		want         bool
	}{
		{"exactly full", topic, 128 - 10 - 9, 128, true},
		{"one over", topic, 128 - 10 - 9 + 1, 128, false},
		{"empty payload", topic, 0, 128, true},
		{"default send buffer", "bar_topic/device01", 2560 - 18 - 9, 2560, true},
		{"default send buffer over", "bar_topic/device01", 2560 - 18 - 9 + 1, 2560, false},
		{"default recv buffer", "foo_topic/device01", 512 - 18 - 9, 512, true},
		{"default recv buffer over", "foo_topic/device01", 512 - 18 - 9 + 1, 512, false},
		{"max buffer", "a", 65536 - 1 - 9, 65536, true},
		{"negative payload", topic, -1, 128, false},
		{"huge payload", topic, int(^uint(0) >> 1), 65536, false},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			if got := mqttcore.PublishFits(tc.topic, tc.payload, tc.buf); got != tc.want {
				t.Errorf("PublishFits(%d-byte topic, %d, %d) = %v, want %v", len(tc.topic), tc.payload, tc.buf, got, tc.want)
			}
			if got := mqttcore.ReceiveFits(tc.topic, tc.payload, tc.buf); got != tc.want {
				t.Errorf("ReceiveFits(%d-byte topic, %d, %d) = %v, want %v", len(tc.topic), tc.payload, tc.buf, got, tc.want)
			}
		})
	}
}

func ExampleValidateTopicFilter() {
	fmt.Println(mqttcore.ValidateTopicFilter("testtopic/subtopic/#"))
	fmt.Println(mqttcore.ValidateTopicFilter("a/#/b"))
	fmt.Println(mqttcore.ValidateTopicName("testtopic/subtopic/#"))
	// Output:
	// <nil>
	// mqtt: illegal argument topic: '#' must be the last level
	// mqtt: illegal argument topic: wildcard '#' not allowed in a topic name
}

func ExamplePublishFits() {
	// 18-byte topic + 9-byte header: 101 payload bytes fit the minimum 128-byte send buffer.
	fmt.Println(mqttcore.PublishFits("bar_topic/device01", 101, 128))
	fmt.Println(mqttcore.PublishFits("bar_topic/device01", 102, 128))
	// Output:
	// true
	// false
}
