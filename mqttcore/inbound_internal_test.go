package mqttcore

import "testing"

// TestInboundQueueBounds: the queue admits until either bound would be passed, a message
// alone always fits, and released room is reused.
func TestInboundQueueBounds(t *testing.T) {
	tt := []struct {
		name      string
		costs     []int // admitted in order
		want      []bool
		releaseAt int // release the first message after this many admits (-1: never)
	}{
		{"count bound", repeat(1+HeaderOverhead, MaxInboundMessages+2), admits(MaxInboundMessages, 2), -1},
		{"bytes bound", repeat(MaxInboundBytes/4, 5), []bool{true, true, true, true, false}, -1},
		{"one message over the byte bound after another", []int{10, MaxInboundBytes}, []bool{true, false}, -1},
		{"a lone message of the largest device recvBuffSize fits", []int{MaxBuffSize + HeaderOverhead}, []bool{true}, -1},
		{"a lone message of the largest host recvBuffSize fits", []int{HostMaxBuffSize + HeaderOverhead, 1}, []bool{true, false}, -1},
		{"released room is reused", repeat(MaxInboundBytes/2, 3), []bool{true, true, true}, 2},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var q inboundQueue
			for k, c := range tc.costs {
				if k == tc.releaseAt {
					q.release(tc.costs[0])
				}
				if got := q.admit(c); got != tc.want[k] {
					t.Fatalf("admit #%d (cost %d) = %v, want %v (queue %d msgs, %d bytes)", k, c, got, tc.want[k], q.messages.Load(), q.bytes.Load())
				}
			}
		})
	}
	if got := inboundCost("a/b", []byte("xyz")); got != 3+3+HeaderOverhead {
		t.Errorf("inboundCost = %d", got)
	}
}

func repeat(c, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = c
	}
	return s
}

func admits(yes, no int) []bool {
	s := make([]bool, yes+no)
	for i := range yes {
		s[i] = true
	}
	return s
}
