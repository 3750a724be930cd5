package fleet

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
)

// Notice is one line a fleet writes to Config.Notices, as JSON: an instance was given its
// clientId (Reason "") or ended with Reason. A supervisor reads them (ReadNotices) to name the
// instances of a worker that dies without a summary.
type Notice struct {
	Index    int    `json:"index"`
	ClientID string `json:"client_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// noticer writes Notices, one line at a time; a nil noticer writes nothing. Safe from any
// goroutine. A write error stops the notices (the supervisor is gone).
type noticer struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newNoticer(w io.Writer) *noticer {
	if w == nil {
		return nil
	}
	return &noticer{enc: json.NewEncoder(w)}
}

func (r *noticer) write(rep Notice) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.enc != nil && r.enc.Encode(rep) != nil {
		r.enc = nil
	}
}

func (r *noticer) clientID(i int, id string) { r.write(Notice{Index: i, ClientID: id}) }

func (r *noticer) ended(i int, id, reason string) {
	r.write(Notice{Index: i, ClientID: id, Reason: reason})
}

// maxNoticeLine bounds one notice line read by ReadNotices (a clientId is at most 65,535
// bytes, as is an MQTT string).
const maxNoticeLine = 1 << 17

// ReadNotices calls fn for each Notice line read from r until r ends; malformed lines are
// skipped.
func ReadNotices(r io.Reader, fn func(Notice)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxNoticeLine)
	for sc.Scan() {
		var rep Notice
		if json.Unmarshal(sc.Bytes(), &rep) == nil {
			fn(rep)
		}
	}
	// A line over the bound ends the reading; drain the rest so the writer never blocks.
	_, _ = io.Copy(io.Discard, r)
}
