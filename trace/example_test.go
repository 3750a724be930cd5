package trace_test

import (
	"fmt"
	"strings"

	"github.com/devicejs/devicejs/trace"
)

// Reading a --trace-json file back: each line is a Record, printed here in its --trace form.
func ExampleRead() {
	file := `{"t":0.004,"time":"2026-01-01T00:00:00.004Z","kind":"connack","clientId":"meter-1","broker":"mqtt://broker:1883","returnCode":0}
{"t":1.25,"time":"2026-01-01T00:00:01.25Z","kind":"publish","clientId":"meter-1","broker":"mqtt://broker:1883","topic":"m/1","qos":1,"bytes":17}
`
	_ = trace.Read(strings.NewReader(file), func(r trace.Record) {
		fmt.Println(r.Text())
		fmt.Println(" ", r.Event().Kind, r.Event().Time.Format("15:04:05.000"))
	})
	// Output:
	// trace +0.004s connack mqtt://broker:1883 meter-1 returnCode=0
	//   connack 00:00:00.004
	// trace +1.250s publish mqtt://broker:1883 meter-1 topic=m/1 qos=1 bytes=17
	//   publish 00:00:01.250
}
