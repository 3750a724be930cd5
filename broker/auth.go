package broker

import (
	"bytes"
	"crypto/subtle"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// authHook allows everyone when the user table (table's result if table is set, else users)
// is nil, else only CONNECTs whose username and password match an entry. Every topic is
// allowed unless acl says otherwise.
type authHook struct {
	mqtt.HookBase
	users map[string]string
	table func() map[string]string
	acl   func(user, clientID, topic string, write bool) bool
}

func (h *authHook) ID() string { return "devicejs-auth" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	users := h.users
	if h.table != nil {
		users = h.table()
	}
	if users == nil {
		return true
	}
	want, ok := users[string(pk.Connect.Username)]
	if !ok || !pk.Connect.UsernameFlag {
		return false
	}
	return subtle.ConstantTimeCompare(pk.Connect.Password, []byte(want)) == 1
}

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if h.acl == nil || cl.Net.Inline {
		return true
	}
	return h.acl(string(cl.Properties.Username), cl.ID, topic, write)
}
