package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/report"
)

// The --metrics server's bounds: what many scrapers, or clients that never read, can hold.
const (
	// maxMetricsScrapes is the number of /metrics answers made at once; more get 503.
	maxMetricsScrapes = 4
	// maxMetricsConns is the number of connections open at once; more wait to be accepted.
	maxMetricsConns = 64
	// metricsWriteTimeout bounds the write of one answer: a client that does not take it in
	// that time is disconnected.
	metricsWriteTimeout = 5 * time.Second
)

// fleetMetrics serves a running fleet's figures in the Prometheus text format on
// `devicejs fleet --metrics ADDR` (GET /metrics), with the rules of --ui: loopback unless a
// non-loopback host is named, 421 for a foreign Host on loopback, no CORS header, a cap on
// concurrent scrapes and a write deadline.
type fleetMetrics struct {
	ln  net.Listener
	srv *http.Server
}

// resolveMetricsAddr checks --metrics (a usage error naming the flag when malformed).
func resolveMetricsAddr(ios *IOStreams, v string) (string, error) {
	addr, remote, err := report.ResolveListenAddr("--metrics", v)
	if err != nil {
		return "", usageError(err)
	}
	if remote {
		fmt.Fprintf(ios.ErrOut, "devicejs: warning: --metrics %s serves the fleet's figures beyond this machine, without authentication\n", addr)
	}
	return addr, nil
}

// startFleetMetrics listens on addr (resolved by resolveMetricsAddr) and serves the figures of
// fl, whose run started at start, with settings as the labels of devicejs_fleet_info.
func startFleetMetrics(ios *IOStreams, addr string, fl *fleet.Fleet, n int, start time.Time, st *fleet.Settings) (*fleetMetrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newFleetCollector(fl, n, start, st))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageError(fmt.Errorf("--metrics: %w", err))
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{MaxRequestsInFlight: maxMetricsScrapes, Timeout: metricsWriteTimeout})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	m := &fleetMetrics{ln: ln, srv: &http.Server{Handler: report.HostGuard(ln.Addr(), mux),
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10,
		WriteTimeout: metricsWriteTimeout}}
	go func() { _ = m.srv.Serve(netutil.LimitListener(ln, maxMetricsConns)) }()
	fmt.Fprintf(ios.ErrOut, "devicejs: metrics at http://%s/metrics\n", ln.Addr())
	return m, nil
}

// Close stops the server, giving scrapes in progress up to 2 s.
func (m *fleetMetrics) Close() {
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		_ = m.srv.Close()
	}
}

// fleetCollector turns one Progress snapshot per scrape into the devicejs_fleet_* metrics
// (docs/fleet.md lists them).
type fleetCollector struct {
	fl    *fleet.Fleet
	n     int
	start time.Time
	descs map[string]*prometheus.Desc
	info  prometheus.Metric
}

// fleetMetricHelp are the metrics' names and help texts; the order is that of the exposition.
var fleetMetricHelp = []struct{ name, help string }{
	{"devicejs_fleet_instances", "Instances this process runs (its shard of the fleet)."},
	{"devicejs_fleet_instances_started_total", "Instances started so far."},
	{"devicejs_fleet_instances_connected", "Instances with an open connection now."},
	{"devicejs_fleet_instances_reconnecting", "Instances between a lost connection and the next CONNACK."},
	{"devicejs_fleet_instances_done_total", "Instances whose run has ended."},
	{"devicejs_fleet_errors_total", "Failed publishes and connections given up."},
	{"devicejs_fleet_messages_received_total", "Messages delivered to the scripts."},
	{"devicejs_fleet_publishes_total", "Publishes completed with code 0."},
	{"devicejs_fleet_elapsed_seconds", "Wall time since the fleet started."},
	{"devicejs_fleet_publish_attempts_total", "Publishes the sessions accepted: completed + failed + in flight at the end."},
	{"devicejs_fleet_publish_errors_total", "Publishes completed with a non-zero code while their session was live."},
	{"devicejs_fleet_publishes_in_flight_at_end_total", "Publishes still awaiting completion when their session ended (not errors)."},
	{"devicejs_fleet_connections_lost_total", "Open connections lost."},
}

// fleetLatencyHelp are the latency gauges, one series per quantile ("0.5", "0.9", "0.99", "1"
// for the maximum), over the run so far; absent until there is a sample.
var fleetLatencyHelp = []struct{ name, help string }{
	{"devicejs_fleet_publish_latency_seconds", "Publish-to-acknowledgement latency of the publishes completed with code 0 (all QoS), over the run so far."},
	{"devicejs_fleet_e2e_latency_seconds", "End-to-end latency of the publishes matching --e2e-probe to their receipt by an instance, over the run so far."},
}

func newFleetCollector(fl *fleet.Fleet, n int, start time.Time, st *fleet.Settings) *fleetCollector {
	c := &fleetCollector{fl: fl, n: n, start: start, descs: map[string]*prometheus.Desc{}}
	for _, m := range fleetMetricHelp {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, nil, nil)
	}
	for _, m := range fleetLatencyHelp {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, []string{"quantile"}, nil)
	}
	if st != nil {
		d := prometheus.NewDesc("devicejs_fleet_info", "The run's settings as labels; the value is 1.", nil, prometheus.Labels{
			"version": st.Version, "broker": st.Broker, "link": st.Link, "ramp": st.Ramp, "for": st.For,
			"time_scale": fmt.Sprint(st.TimeScale), "shard": st.Shard, "script_sha256": st.ScriptSHA256,
		})
		c.info = prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 1)
	}
	return c
}

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range fleetMetricHelp {
		ch <- c.descs[m.name]
	}
	for _, m := range fleetLatencyHelp {
		ch <- c.descs[m.name]
	}
	if c.info != nil {
		ch <- c.info.Desc()
	}
}

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.fl.Progress()
	ld := c.fl.LoadSnapshot()
	g, k := prometheus.GaugeValue, prometheus.CounterValue
	for _, v := range []struct {
		name string
		t    prometheus.ValueType
		v    float64
	}{
		{"devicejs_fleet_instances", g, float64(c.n)},
		{"devicejs_fleet_instances_started_total", k, float64(p.Started)},
		{"devicejs_fleet_instances_connected", g, float64(p.Connected)},
		{"devicejs_fleet_instances_reconnecting", g, float64(p.Reconnecting)},
		{"devicejs_fleet_instances_done_total", k, float64(p.Done)},
		{"devicejs_fleet_errors_total", k, float64(p.Errors)},
		{"devicejs_fleet_messages_received_total", k, float64(p.Received)},
		{"devicejs_fleet_publishes_total", k, float64(p.Published)},
		{"devicejs_fleet_elapsed_seconds", g, time.Since(c.start).Seconds()},
		{"devicejs_fleet_publish_attempts_total", k, float64(ld.PublishAttempts)},
		{"devicejs_fleet_publish_errors_total", k, float64(ld.PublishErrors)},
		{"devicejs_fleet_publishes_in_flight_at_end_total", k, float64(ld.InFlightAtEnd)},
		{"devicejs_fleet_connections_lost_total", k, float64(ld.ConnectionsLost)},
	} {
		ch <- prometheus.MustNewConstMetric(c.descs[v.name], v.t, v.v)
	}
	quantiles := func(name string, h fleet.Histogram) {
		if h.Count == 0 {
			return
		}
		pc := h.Percentiles()
		for _, q := range []struct {
			label string
			ms    float64
		}{{"0.5", pc.P50}, {"0.9", pc.P90}, {"0.99", pc.P99}, {"1", pc.Max}} {
			ch <- prometheus.MustNewConstMetric(c.descs[name], g, q.ms/1000, q.label)
		}
	}
	quantiles("devicejs_fleet_publish_latency_seconds", ld.PublishLatency["all"])
	if ld.E2E != nil {
		quantiles("devicejs_fleet_e2e_latency_seconds", ld.E2E.Latency)
	}
	if c.info != nil {
		ch <- c.info
	}
}
