#!/usr/bin/env bash
# scripts/interop.sh — run devicejs against a broker we did not write: RabbitMQ with its MQTT
# plugin, from Debian's rabbitmq-server package (`make interop`; not part of `make test`).
#
# It starts a private RabbitMQ node (own node name, data, logs, Erlang port mapper and cookie
# in a temporary folder; MQTT on a free 127.0.0.1 port, MQTT over TLS on another with
# certificates made here with openssl), runs `devicejs conformance` against it and each
# documented sample with `devicejs run`, prints what it saw, and stops everything it started.
# docs/conformance.md ("What you see with each broker") explains the results.
#
# Environment: DEVICEJS (a devicejs binary; default: built into the temporary folder),
# RABBITMQ_BIN (default /usr/lib/rabbitmq/bin), INTEROP_KEEP=1 keeps the folder.
# Exit status: 0 when every conformance scenario that ran passed and every sample printed
# what docs/conformance.md says it prints on RabbitMQ; 1 otherwise; 77 when RabbitMQ is not
# installed and cannot be (it installs Debian's rabbitmq-server itself when missing, as root or
# with sudo, unless RABBITMQ_BIN points elsewhere).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rabbit_bin=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		echo "interop: need root (or sudo) to run: $*" >&2; return 1; fi
}
if [ ! -x "$rabbit_bin/rabbitmq-server" ] || ! command -v epmd >/dev/null; then
	if [ -z "${RABBITMQ_BIN:-}" ] && command -v apt-get >/dev/null; then
		echo "interop: installing rabbitmq-server (Debian)"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update || true
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server || true
		# Debian starts the packaged node; this script runs its own private one.
		as_root systemctl stop rabbitmq-server >/dev/null 2>&1 || true
	fi
fi
if [ ! -x "$rabbit_bin/rabbitmq-server" ] || ! command -v epmd >/dev/null; then
	echo "interop: RabbitMQ is not installed and could not be installed (apt-get install -y rabbitmq-server)" >&2
	exit 77
fi

work=$(mktemp -d /tmp/devicejs-interop.XXXXXX)
pids=()
cleanup() {
	local rc=$?
	if [ -n "${RABBITMQ_NODENAME:-}" ] && [ -x "$rabbit_bin/rabbitmqctl" ]; then
		timeout 30 "$rabbit_bin/rabbitmqctl" stop >/dev/null 2>&1 || true
	fi
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	if [ "${INTEROP_KEEP:-}" = 1 ]; then
		echo "interop: kept $work" >&2
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT INT TERM

# free_port prints a TCP port nothing listens on at 127.0.0.1 (the kernel's choice).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port waits up to $2 seconds for 127.0.0.1:$1 to accept connections.
wait_port() {
	local i
	for i in $(seq $(($2 * 10))); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

devicejs=${DEVICEJS:-}
if [ -z "$devicejs" ]; then
	devicejs=$work/devicejs
	(cd "$root" && go build -o "$devicejs" ./cmd/devicejs)
fi

# --- certificates: a CA, the broker's certificate for 127.0.0.1, and sample 3's client one.
pki=$work/pki
mkdir -p "$pki"
(
	cd "$pki"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=devicejs interop CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout ca.key -out ca.pem 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:foo.bar\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=foo" -keyout client.key -out client.csr 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile client.ext -out client.pem 2>/dev/null
)

# --- a private RabbitMQ node.
epmd_port=$(free_port)
amqp_port=$(free_port)
dist_port=$(free_port)
mqtt_port=$(free_port)
mqtts_port=$(free_port)
export HOME=$work/home # the Erlang cookie lives here
mkdir -p "$HOME"
export ERL_EPMD_PORT=$epmd_port
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_NODENAME="devicejs-interop-$$@localhost"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$amqp_port
export RABBITMQ_DIST_PORT=$dist_port
export RABBITMQ_MNESIA_BASE=$work/mnesia
export RABBITMQ_LOG_BASE=$work/log
export RABBITMQ_CONFIG_FILE=$work/rabbitmq.conf
export RABBITMQ_ENABLED_PLUGINS_FILE=$work/enabled_plugins
export RABBITMQ_PID_FILE=$work/rabbitmq.pid
export RABBITMQ_ALLOW_INPUT=
export RABBITMQ_PLUGINS_EXPAND_DIR=$work/plugins-expand
cat >"$RABBITMQ_CONFIG_FILE" <<EOF
listeners.tcp.default = 127.0.0.1:$amqp_port
loopback_users = none
log.console = false
log.file.level = info
mqtt.listeners.tcp.default = 127.0.0.1:$mqtt_port
mqtt.listeners.ssl.default = 127.0.0.1:$mqtts_port
mqtt.allow_anonymous = true
mqtt.default_user = guest
mqtt.default_pass = guest
ssl_options.cacertfile = $pki/ca.pem
ssl_options.certfile = $pki/server.pem
ssl_options.keyfile = $pki/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
EOF
echo '[rabbitmq_mqtt].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"

epmd -port "$epmd_port" -address 127.0.0.1 &
pids+=($!)
"$rabbit_bin/rabbitmq-server" >"$work/rabbitmq.out" 2>&1 &
pids+=($!)
echo "interop: starting RabbitMQ (node $RABBITMQ_NODENAME, MQTT 127.0.0.1:$mqtt_port, MQTT/TLS 127.0.0.1:$mqtts_port)"
if ! wait_port "$mqtt_port" 120; then
	echo "interop: RabbitMQ did not open its MQTT port within 120 s; its output:" >&2
	tail -50 "$work/rabbitmq.out" >&2 || true
	exit 1
fi
"$rabbit_bin/rabbitmqctl" -q version || true
# Sample 3 logs in as foo/foobar (docs/conformance.md).
timeout 30 "$rabbit_bin/rabbitmqctl" -q add_user foo foobar >/dev/null
timeout 30 "$rabbit_bin/rabbitmqctl" -q set_permissions -p / foo '.*' '.*' '.*' >/dev/null

status=0
broker=127.0.0.1:$mqtt_port
tls_broker=127.0.0.1:$mqtts_port

# --- the conformance scenarios: `devicejs conformance` runs the testdata/conformance/*.test.js
# files it carries through devtest (one at a time on a user's broker).
echo
echo "== devicejs conformance --broker $broker --tls-broker $tls_broker"
if ! "$devicejs" conformance --broker "$broker" --tls-broker "$tls_broker" --ssl-ca "$pki/ca.pem" \
	--ssl-cert "$pki/client.pem" --ssl-key "$pki/client.key" --parallel 2; then
	status=1
fi

# --- each sample, once, with the packet trace: what a user sees.
# expect_line SAMPLE REGEXP: the sample's output must have a line matching REGEXP.
expect_line() {
	if ! grep -Eq "$2" "$work/$1.out"; then
		echo "interop: $1: no line matching $2" >&2
		status=1
	fi
}
for n in 1 2 3 4 5 6; do
	s=sample$n.js
	args=(--broker "$broker")
	case $n in
	2 | 3) args=(--broker "$tls_broker" --ssl-ca "$pki/ca.pem") ;;
	esac
	if [ "$n" = 3 ]; then args+=(--ssl-cert "$pki/client.pem" --ssl-key "$pki/client.key"); fi
	echo
	echo "== devicejs run ${args[*]} --for 40s --time-scale 4 $s"
	rc=0
	timeout 60 "$devicejs" run "${args[@]}" --for 40s --time-scale 4 --trace-json "$work/$s.jsonl" \
		"$root/testdata/samples/$s" >"$work/$s.out" 2>"$work/$s.err" || rc=$?
	sed 's/^/  /' "$work/$s.out"
	echo "  (exit $rc; $(grep -c '"kind":"packet"' "$work/$s.jsonl" || true) packets traced)"
	case $n in
	4) expect_line "$s" '^CONNECTED$' ;;
	5 | 6) expect_line "$s" '^Publish OK$' ;;
	*) expect_line "$s" '^CONNECTED$' ;;
	esac
	if grep -Eq 'ERROR|Publish failed' "$work/$s.out"; then
		echo "interop: $s reported an error" >&2
		status=1
	fi
done

# --- sample 5 across a broker restart (rabbitmqctl stop_app / start_app): the device reconnects
# by itself (reconnectCount 1855) and publishes again.
echo
echo "== sample5.js across a RabbitMQ restart"
s=sample5-restart
timeout 120 "$devicejs" run --broker "$broker" --for 80s --time-scale 2 --trace \
	"$root/testdata/samples/sample5.js" >"$work/$s.out" 2>"$work/$s.err" &
dpid=$!
for _ in $(seq 300); do grep -q '^Publish OK$' "$work/$s.out" && break; sleep 0.1; done
timeout 60 "$rabbit_bin/rabbitmqctl" -q stop_app >/dev/null
sleep 3
timeout 60 "$rabbit_bin/rabbitmqctl" -q start_app >/dev/null
rc=0
wait "$dpid" || rc=$?
sed 's/^/  /' "$work/$s.out"
echo "  (exit $rc; $(grep -c ' connect_attempt ' "$work/$s.err" || true) connection attempts, $(grep -c ' close ' "$work/$s.err" || true) close)"
if [ "$(grep -c '^CONNECTED$' "$work/$s.out" || true)" -lt 2 ] ||
	! sed -n '/^CONNECTED$/h; /^CONNECTED$/!H; ${x;p}' "$work/$s.out" | grep -q '^Publish OK$'; then
	echo "interop: sample5.js did not reconnect and publish after the restart" >&2
	status=1
fi

# --- QoS 2: RabbitMQ 3.10 answers a QoS 2 PUBLISH with PUBACK (it downgrades to QoS 1).
echo
echo "== QoS 2 publish (RabbitMQ downgrades QoS 2 to 1)"
cat >"$work/qos2.js" <<'EOF'
var c = mqtt.connect('mqtt://broker.local:1883', {reconnectCount: 0});
c.on('connect', function() {
  c.publish('interop/qos2', 'x', {qos: 2}, function(err) { print('qos2 publish: ' + err.code + ' ' + err.message); });
});
c.on('close', function() { print('close'); c.end(); });
EOF
timeout 60 "$devicejs" run --broker "$broker" --for 10s --trace "$work/qos2.js" >"$work/qos2.out" 2>"$work/qos2.err" || true
sed 's/^/  /' "$work/qos2.out"
grep -E 'PUBLISH|PUBACK|PUBREC|PUBCOMP|protocol_error' "$work/qos2.err" | sed 's/^/  /' || true
if ! grep -q '^qos2 publish: 12 ' "$work/qos2.out"; then
	echo "interop: the QoS 2 publish did not report 12 (docs/device-semantics.md)" >&2
	status=1
fi

# --- broker facts: printed for docs/conformance.md, not pass/fail (they are RabbitMQ's choices).
timeout 30 "$rabbit_bin/rabbitmqctl" -q add_user limited limited >/dev/null
timeout 30 "$rabbit_bin/rabbitmqctl" -q set_permissions -p / limited '.*' '.*' '.*' >/dev/null
timeout 30 "$rabbit_bin/rabbitmqctl" -q set_topic_permissions -p / limited amq.topic '^allowed\..*' '^allowed\..*' >/dev/null
for f in facts acl keepalive; do
	echo
	echo "== broker facts: testdata/interop/$f.js"
	timeout 60 "$devicejs" run --broker "$broker" --for 20s --trace "$root/testdata/interop/$f.js" \
		>"$work/$f.out" 2>"$work/$f.err" || true
	sed 's/^/  /' "$work/$f.out"
	grep -E 'protocol_error| close |SUBACK|PINGRESP' "$work/$f.err" | sed 's/^/  /' || true
done

echo
if [ "$status" = 0 ]; then echo "interop: RabbitMQ: OK"; else echo "interop: RabbitMQ: FAILED"; fi
exit "$status"
