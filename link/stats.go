package link

import "time"

// Direction is the way bytes flow through a connection of the link.
type Direction int

const (
	// Up is from the device (the side that dialed or was wrapped) to the network.
	Up Direction = iota
	// Down is from the network to the device.
	Down
)

// String returns "up" or "down".
func (d Direction) String() string {
	if d == Up {
		return "up"
	}
	return "down"
}

// Stats are a link's totals over every connection it has carried.
type Stats struct {
	// Conns is the number of connections wrapped.
	Conns int64
	// Up is device-to-network traffic, Down network-to-device.
	Up, Down DirStats
}

// DirStats are the totals of one direction.
type DirStats struct {
	// Bytes and Segments count what entered the link (segments of at most MSS bytes).
	Bytes, Segments int64
	// LostSegments counts segments lost at least once; Losses counts every loss (a segment
	// lost twice in a row counts 2), each one a retransmission timeout of delay.
	LostSegments, Losses int64
	// Delay is the sum, over segments, of the time (device time) each was held in the link:
	// serialization, latency, jitter and retransmission timeouts, and waiting behind an
	// earlier segment. Outages and blackholes are not included (they are decided at delivery).
	Delay time.Duration
	// MaxDelay is the largest single-segment Delay.
	MaxDelay time.Duration
}
