// devicejs report: draws the data embedded in #report-data (see report/page.go) as plain SVG.
// No library, no network: the page works offline. Live pages (devicejs run/fleet --ui) replace
// the data from the server-sent events at ./events and draw again.
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var state = { view: null, filter: '', selected: null };

  // Which lane a kind belongs on: what the device does, what the broker answers, what other
  // clients (peers) send through the broker.
  var DEVICE_KINDS = { connect_attempt: 1, subscribe: 1, unsubscribe: 1, publish: 1, reconnect_wait: 1, reconnect: 1, error: 1, end: 1, discarded: 1 };
  var BROKER_KINDS = { connack: 1, connect_failed: 1, suback: 1, unsuback: 1, publish_done: 1, close: 1, protocol_error: 1 };
  var PEER_KINDS = { message: 1 };
  var IN_DIRS = { 'in': 1, recv: 1, received: 1, rx: 1, read: 1, '<': 1, '<-': 1 };

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, cls) {
    var t = el('text', { x: x, y: y, 'class': cls || '' }, parent);
    t.textContent = s;
    return t;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function num(v) { var n = Number(v); return isFinite(n) ? n : null; }
  function str(v) { return v === undefined || v === null ? '' : String(v); }
  function fmt(n, d) { return n === null || n === undefined ? '–' : Number(n).toFixed(d === undefined ? 1 : d); }
  function row(table, cells, attrs) {
    var tr = document.createElement('tr');
    for (var k in attrs || {}) { if (Object.prototype.hasOwnProperty.call(attrs, k)) tr.setAttribute(k, attrs[k]); }
    cells.forEach(function (c, i) {
      var td = document.createElement(i === 0 ? 'th' : 'td');
      td.textContent = c;
      tr.appendChild(td);
    });
    table.appendChild(tr);
    return tr;
  }
  // niceStep is a round step (1, 2 or 5 times a power of ten) that cuts span into about n
  // parts; 0 when there is none (a span that is 0, not finite, or too small for a power of ten).
  function niceStep(span, n) {
    var raw = span / Math.max(1, n);
    if (!(raw > 0) || !isFinite(raw)) return 0;
    var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    if (!(p > 0) || !isFinite(m)) return raw;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }
  // ticks returns the axis values from lo to hi, about n of them and never more than 2n + 2:
  // none when the step is 0 or not finite, and each value once when a step is too small to
  // move a value as large as lo (a view at 1e20 of 16384 s).
  function ticks(lo, hi, n) {
    var out = [], step = niceStep(hi - lo, n);
    if (!(step > 0) || !isFinite(step) || !isFinite(lo) || !isFinite(hi)) return out;
    var first = Math.ceil(lo / step) * step, last = null;
    for (var k = 0; k <= 2 * n + 2; k++) {
      var s = first + k * step;
      if (!(s <= hi)) break;
      if (s !== last) out.push(s);
      last = s;
    }
    return out;
  }

  // ---- trace ----------------------------------------------------------------------------

  // groupsOf returns the tests of a `devicejs test --report` trace: each once, with its lane
  // prefix and its lower-case name (for the filter) made once, not once per event.
  function groupsOf(tests) {
    return (Array.isArray(tests) ? tests : []).map(function (g, k) { return group('t' + k, str(g && g.name), str(g && g.status)); });
  }
  function group(key, name, status) {
    return { key: key, prefix: name + (status ? ' [' + status + ']' : '') + ' · ', lname: name.toLowerCase() };
  }

  // prepare gives each event its device second (t, or time relative to the first one), its kind
  // (the packet type of a packet event when kind is missing), its test group and its lane: lane
  // is a short key, state.laneNames[lane] the name shown (made once per lane).
  function prepare(events, tests) {
    var groups = groupsOf(tests), named = {}, laneNames = state.laneNames = {};
    var first = null;
    events.forEach(function (e) { var ms = Date.parse(e.time); if (!isNaN(ms) && (first === null || ms < first)) first = ms; });
    return events.map(function (e, i) {
      var t = num(e.t);
      if (t === null) { var ms = Date.parse(e.time); t = isNaN(ms) || first === null ? 0 : (ms - first) / 1000; }
      var kind = str(e.kind || e.packet || e.type || 'unknown');
      // a packet event (docs/trace.md) is counted and shown as "packet send PUBLISH"
      var label = kind === 'packet' ? ['packet', str(e.dir || e.direction), str(e.packet)].join(' ').replace(/ +/g, ' ').trim() : kind;
      var client = str(e.clientId || e.client_id || e.client) || '(no client)';
      var broker = str(e.broker) || '(broker)';
      // devicejs test --report: each test gets its own lanes (testIndex into the trace's tests;
      // earlier versions put the name in every event)
      var g = null;
      if (typeof e.testIndex === 'number') g = groups[e.testIndex] || null;
      else if (e.test) {
        var id = str(e.test) + '\u0000' + str(e.testStatus);
        g = named[id] || (named[id] = group('n' + Object.keys(named).length, str(e.test), str(e.testStatus)));
      }
      var gk = g ? g.key + '\u0000' : '', gp = g ? g.prefix : '';
      var dir = str(e.dir || e.direction).toLowerCase();
      var role, who, whoName;
      if (dir) role = IN_DIRS[dir] ? 'broker' : 'device';
      else role = BROKER_KINDS[kind] ? 'broker' : PEER_KINDS[kind] ? 'peers via' : 'device';
      who = role === 'device' ? client : broker;
      var lane = role + ' ' + gk + who;
      if (!(lane in laneNames)) laneNames[lane] = role + ' ' + gp + who;
      return { i: i, t: t, kind: kind, label: label, client: client, ckey: gk + client, group: g, topic: str(e.topic), lane: lane, raw: e };
    });
  }

  function matches(ev, f) {
    if (!f) return true;
    return ev.topic.toLowerCase().indexOf(f) >= 0 || ev.client.toLowerCase().indexOf(f) >= 0 ||
      ev.label.toLowerCase().indexOf(f) >= 0 || (ev.group !== null && ev.group.lname.indexOf(f) >= 0);
  }

  // reconnections marks every connack of a client after its first: a reconnection.
  function reconnections(evs) {
    var seen = {}, out = [];
    evs.forEach(function (ev) {
      if (ev.kind !== 'connack') return;
      if (seen[ev.ckey]) out.push(ev);
      seen[ev.ckey] = true;
    });
    return out;
  }

  // links pairs each publish with its completion (same client and topic, first in first out).
  function links(evs) {
    var open = {}, out = [];
    evs.forEach(function (ev) {
      var key = ev.ckey + '\u0001' + ev.topic;
      if (ev.kind === 'publish') (open[key] = open[key] || []).push(ev);
      else if (ev.kind === 'publish_done' && open[key] && open[key].length) out.push([open[key].shift(), ev]);
    });
    return out;
  }

  function drawTrace() {
    var tr = data.trace;
    var section = document.getElementById('trace-section');
    if (!tr) { section.hidden = true; return; }
    section.hidden = false;
    var all = prepare(tr.events || [], tr.tests);
    var evs = all.filter(function (ev) { return matches(ev, state.filter); });
    var lanes = [], laneIdx = {};
    function addLane(name) { if (!(name in laneIdx)) { laneIdx[name] = lanes.length; lanes.push(name); } }
    // devices first, then brokers, then peers, each in order of appearance
    ['device ', 'broker ', 'peers '].forEach(function (p) { evs.forEach(function (ev) { if (ev.lane.indexOf(p) === 0) addLane(ev.lane); }); });

    var tMin = 0, tMax = 1;
    all.forEach(function (ev) {
      tMin = Math.min(tMin, ev.t);
      var end = ev.t + (ev.kind === 'reconnect_wait' ? (num(ev.raw.waitMs) || 0) / 1000 : 0);
      tMax = Math.max(tMax, end);
    });
    // Until the user zooms or pans, the view is the whole trace (a live trace keeps growing).
    state.cur = state.view || [tMin, tMax + (tMax - tMin) * 0.02];
    var v0 = state.cur[0], v1 = state.cur[1];

    var svg = document.getElementById('timeline');
    clear(svg);
    var W = Math.max(600, (svg.parentNode.clientWidth || 1000) - 4), left = 300, right = 20, top = 28, laneH = 44;
    var H = top + lanes.length * laneH + 10;
    svg.setAttribute('width', W); svg.setAttribute('height', H);
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var plotW = W - left - right;
    function x(t) { return left + (t - v0) / (v1 - v0) * plotW; }
    function y(lane) { return top + laneIdx[lane] * laneH + laneH / 2; }
    svg.__x = { left: left, plotW: plotW };

    // axis
    var axis = el('g', { 'class': 'axis' }, svg);
    ticks(v0, v1, 10).forEach(function (s) {
      el('line', { x1: x(s), x2: x(s), y1: top - 6, y2: H - 10, 'class': 'grid' }, axis);
      text(axis, x(s), top - 10, (+s.toFixed(6)) + ' s', 'tick');
    });
    lanes.forEach(function (key, k) {
      var name = state.laneNames[key];
      var what = name.slice(0, name.indexOf(' ')), rest = name.slice(what.length + 1); // keep the lane's role and the end of its name
      var g = el('g', { 'class': 'lane lane-' + what, 'data-lane': name }, svg);
      el('rect', { x: 0, y: top + k * laneH, width: W, height: laneH, 'class': k % 2 ? 'lane-bg odd' : 'lane-bg' }, g);
      text(g, 6, top + k * laneH + laneH / 2 + 4, what + ' ' + (rest.length > 36 ? '…' + rest.slice(-35) : rest), 'lane-label').appendChild(titleOf(name));
    });
    var clip = el('clipPath', { id: 'plot-clip' }, el('defs', {}, svg));
    el('rect', { x: left, y: 0, width: plotW, height: H }, clip);
    var plot = el('g', { 'clip-path': 'url(#plot-clip)' }, svg);

    reconnections(evs).forEach(function (ev, n) {
      var g = el('g', { 'class': 'reconnection', 'data-client': ev.client }, plot);
      el('line', { x1: x(ev.t), x2: x(ev.t), y1: top, y2: H - 10 }, g);
      text(g, x(ev.t) + 3, H - 12, 'reconnected #' + (n + 1), 'reconnection-label');
    });
    links(evs).forEach(function (p) {
      if (!(p[0].lane in laneIdx) || !(p[1].lane in laneIdx)) return;
      el('line', { x1: x(p[0].t), y1: y(p[0].lane), x2: x(p[1].t), y2: y(p[1].lane), 'class': 'link' }, plot);
    });
    evs.forEach(function (ev) {
      var cls = 'ev ev-' + ev.kind.replace(/[^A-Za-z0-9_-]/g, '_') + (state.selected === ev.i ? ' selected' : '');
      var code = num(ev.raw.code);
      if ((code !== null && code !== 0) || ev.kind === 'error' || ev.kind === 'connect_failed' || ev.kind === 'protocol_error' ||
        (ev.kind === 'packet' && ev.raw.error)) cls += ' failed';
      if (ev.kind === 'packet') cls += ' ev-pkt-' + str(ev.raw.packet).replace(/[^A-Za-z0-9_-]/g, '_');
      var node;
      if (ev.kind === 'reconnect_wait') {
        var w = (num(ev.raw.waitMs) || 0) / 1000;
        node = el('rect', { x: x(ev.t), y: y(ev.lane) - 7, width: Math.max(2, x(ev.t + w) - x(ev.t)), height: 14, 'class': cls }, plot);
      } else {
        if (ev.t < v0 - (v1 - v0) * 0.01 || ev.t > v1 + (v1 - v0) * 0.01) return;
        node = el('circle', { cx: x(ev.t), cy: y(ev.lane) + (ev.kind === 'packet' ? 11 : 0), r: ev.kind === 'packet' ? 3.5 : 5, 'class': cls }, plot);
      }
      node.setAttribute('data-i', ev.i);
      node.setAttribute('data-kind', ev.label);
      node.appendChild(titleOf(ev.label + ' +' + ev.t.toFixed(3) + 's\n' + JSON.stringify(ev.raw, null, 1)));
    });

    // counts by kind over the filtered events, then the reconnections
    var counts = {}, order = [];
    evs.forEach(function (ev) { if (!(ev.label in counts)) { counts[ev.label] = 0; order.push(ev.label); } counts[ev.label]++; });
    var table = document.getElementById('trace-counts');
    clear(table);
    row(table, ['kind', 'events']);
    order.forEach(function (k) { row(table, [k, String(counts[k])], { 'data-kind': k }); });
    row(table, ['reconnections', String(reconnections(evs).length)], { id: 'reconnection-count' });
    row(table, ['lanes', String(lanes.length)], { id: 'lane-count' });
    if (tr.skipped) row(table, ['unreadable lines', String(tr.skipped)], { id: 'skipped-count' });
    state.prepared = all;
  }

  function titleOf(s) { var t = document.createElementNS(SVGNS, 'title'); t.textContent = s; return t; }

  function wireTimeline() {
    var svg = document.getElementById('timeline');
    function zoom(factor, at) {
      if (!state.cur) return;
      var v0 = state.cur[0], v1 = state.cur[1], c = at === undefined ? (v0 + v1) / 2 : at;
      var span = Math.max(1e-6, (v1 - v0) * factor);
      state.view = [c - (c - v0) * span / (v1 - v0), c + (v1 - c) * span / (v1 - v0)];
      drawTrace();
    }
    function tAt(clientX) {
      var r = svg.getBoundingClientRect(), m = svg.__x;
      return state.cur[0] + (clientX - r.left - m.left) / m.plotW * (state.cur[1] - state.cur[0]);
    }
    svg.addEventListener('wheel', function (e) { e.preventDefault(); zoom(e.deltaY < 0 ? 0.8 : 1.25, tAt(e.clientX)); }, { passive: false });
    var drag = null;
    svg.addEventListener('mousedown', function (e) { if (state.cur) drag = { x: e.clientX, view: state.cur.slice(), moved: false }; });
    window.addEventListener('mousemove', function (e) {
      if (!drag) return;
      var dx = e.clientX - drag.x;
      if (Math.abs(dx) < 3 && !drag.moved) return;
      drag.moved = true;
      var dt = dx / svg.__x.plotW * (drag.view[1] - drag.view[0]);
      state.view = [drag.view[0] - dt, drag.view[1] - dt];
      drawTrace();
    });
    window.addEventListener('mouseup', function (e) {
      var d = drag; drag = null;
      if (d && d.moved) return;
      var i = e.target && e.target.getAttribute && e.target.getAttribute('data-i');
      if (i === null || i === undefined || !state.prepared) return;
      state.selected = Number(i);
      var ev = state.prepared[state.selected];
      document.getElementById('details').textContent = JSON.stringify(ev.raw, null, 2);
      drawTrace();
    });
    document.getElementById('zoom-in').onclick = function () { zoom(0.5); };
    document.getElementById('zoom-out').onclick = function () { zoom(2); };
    document.getElementById('zoom-reset').onclick = function () { state.view = null; drawTrace(); };
    document.getElementById('filter').addEventListener('input', function (e) { state.filter = e.target.value.trim().toLowerCase(); drawTrace(); });
  }

  // ---- fleet ----------------------------------------------------------------------------

  function drawHistogram(bars) {
    var svg = document.getElementById('histogram');
    clear(svg);
    var W = 760, H = 220, left = 50, bottom = 40, top = 10;
    svg.setAttribute('width', W); svg.setAttribute('height', H); svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    if (!bars.length) { text(svg, left, H / 2, 'no instance connected', 'empty'); return; }
    var maxC = 1;
    bars.forEach(function (b) { maxC = Math.max(maxC, b.count); });
    var bw = (W - left - 10) / bars.length, plotH = H - bottom - top;
    text(svg, 4, top + 10, String(maxC), 'tick');
    text(svg, 4, H - bottom, '0', 'tick');
    bars.forEach(function (b, k) {
      var h = b.count / maxC * plotH;
      var r = el('rect', { x: left + k * bw + 1, y: top + plotH - h, width: Math.max(1, bw - 2), height: h, 'class': 'bar', 'data-count': b.count, 'data-lo-ms': b.lo_ms, 'data-hi-ms': b.hi_ms }, svg);
      r.appendChild(titleOf(fmt(b.lo_ms, 2) + '–' + fmt(b.hi_ms, 2) + ' ms: ' + b.count + ' instances'));
      if (k % Math.max(1, Math.ceil(bars.length / 8)) === 0) text(svg, left + k * bw, H - bottom + 14, fmt(b.lo_ms, b.lo_ms < 10 ? 2 : 0) + ' ms', 'tick');
    });
    text(svg, left, H - 6, 'connect latency (logarithmic buckets), instances per bucket', 'axis-label');
  }

  function lineChart(id, lines, yLabel) {
    var svg = document.getElementById(id);
    clear(svg);
    var W = 760, H = 200, left = 60, bottom = 30, top = 10, right = 10;
    svg.setAttribute('width', W); svg.setAttribute('height', H); svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var xMax = 0, yMax = 0;
    lines.forEach(function (l) { l.points.forEach(function (p) { xMax = Math.max(xMax, p[0]); yMax = Math.max(yMax, p[1]); }); });
    if (xMax === 0) { text(svg, left, H / 2, 'no samples (the series is recorded with --report or --ui)', 'empty'); return; }
    yMax = yMax || 1;
    function x(v) { return left + v / xMax * (W - left - right); }
    function y(v) { return top + (1 - v / yMax) * (H - top - bottom); }
    ticks(0, xMax, 8).forEach(function (s) { text(svg, x(s), H - bottom + 14, (+s.toFixed(3)) + ' s', 'tick'); });
    text(svg, 4, y(yMax) + 8, fmt(yMax, yMax < 10 ? 1 : 0), 'tick');
    text(svg, 4, y(0), '0', 'tick');
    lines.forEach(function (l, k) {
      var pl = el('polyline', { points: l.points.map(function (p) { return x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1); }).join(' '), 'class': 'series ' + l.cls, 'data-points': l.points.length }, svg);
      pl.appendChild(titleOf(l.name));
      text(svg, W - 200, top + 14 + k * 14, '— ' + l.name, 'legend ' + l.cls);
    });
    text(svg, left, H - 2, yLabel, 'axis-label');
  }

  function drawFleet() {
    var f = data.fleet, section = document.getElementById('fleet-section');
    if (!f) { section.hidden = true; return; }
    section.hidden = false;
    var s = f.summary || {}, p = s.connect_latency_ms || {};
    var fig = document.getElementById('fleet-figures');
    clear(fig);
    [['instances', s.instances + ' of ' + s.fleet_size], ['connected', s.connected + (s.all_connected_seconds ? ' (all after ' + fmt(s.all_connected_seconds, 2) + ' s)' : '')],
      ['elapsed', fmt(s.elapsed_seconds, 1) + ' s'], ['connect latency ms', 'p50 ' + fmt(p.p50) + ' · p90 ' + fmt(p.p90) + ' · p99 ' + fmt(p.p99) + ' · max ' + fmt(p.max)],
      ['published', (s.published || 0) + ' (' + fmt(s.publishes_per_second) + '/s)'], ['received', (s.received || 0) + ' (' + fmt(s.messages_per_second) + '/s)'],
      ['reconnects', String(s.reconnects || 0)], ['script errors', String(s.script_errors || 0) + (s.first_script_error ? ': ' + s.first_script_error : '')]
    ].forEach(function (r) { row(fig, r); });
    if (s.rss_bytes && s.instances) row(fig, ['memory', (s.rss_bytes / 1048576).toFixed(1) + ' MiB, ' + (s.rss_bytes / 1024 / s.instances).toFixed(1) + ' KiB per instance']);

    drawHistogram(f.histogram || []);
    var series = s.series || [];
    lineChart('connected-chart', [
      { name: 'connected', cls: 'connected', points: series.map(function (x) { return [x.t, x.connected]; }) },
      { name: 'started', cls: 'started', points: series.map(function (x) { return [x.t, x.started]; }) },
      { name: 'reconnecting', cls: 'reconnecting', points: series.map(function (x) { return [x.t, x.reconnecting]; }) }
    ], 'instances');
    function rate(key) {
      var out = [];
      for (var k = 1; k < series.length; k++) {
        var dt = series[k].t - series[k - 1].t;
        if (dt > 0) out.push([series[k].t, (series[k][key] - series[k - 1][key]) / dt]);
      }
      return out;
    }
    lineChart('rate-chart', [
      { name: 'messages received/s', cls: 'received', points: rate('received') },
      { name: 'publishes completed/s', cls: 'published', points: rate('published') },
      { name: 'errors/s', cls: 'errors', points: rate('errors') }
    ], 'per second');

    var errs = document.getElementById('fleet-errors');
    clear(errs);
    row(errs, ['kind:code', 'count']);
    var keys = Object.keys(s.errors || {}).sort();
    if (!keys.length) row(errs, ['none', '0'], { 'class': 'none' });
    keys.forEach(function (k) { row(errs, [k, String(s.errors[k])], { 'data-error': k }); });

    var slow = document.getElementById('slowest');
    clear(slow);
    row(slow, ['clientId', 'first attempt → CONNACK, ms']);
    var list = s.slowest || [];
    if (!list.length) row(slow, ['not recorded', '–'], { 'class': 'none' });
    list.forEach(function (d) { row(slow, [d.client_id, fmt(d.latency_ms, 1)], { 'class': 'slow-device' }); });
  }

  function render() {
    drawTrace();
    drawFleet();
    document.getElementById('generated').textContent = data.generated;
  }

  // The address may carry a filter and a view, e.g. report.html#filter=shadow&from=10&to=20,
  // so that a link opens the report where it was looked at.
  (function fromHash() {
    var h = new URLSearchParams(location.hash.replace(/^#/, ''));
    if (h.get('filter')) {
      state.filter = h.get('filter').trim().toLowerCase();
      document.getElementById('filter').value = h.get('filter');
    }
    var from = num(h.get('from')), to = num(h.get('to'));
    if (h.get('from') && h.get('to') && from !== null && to !== null && to > from) state.view = [from, to];
  })();
  wireTimeline();
  render();
  document.getElementById('render-ms').textContent = performance.now().toFixed(1);
  document.body.setAttribute('data-rendered', 'true');

  if (data.live && window.EventSource) {
    var status = document.getElementById('live-status');
    status.textContent = '· live';
    var es = new EventSource('events');
    es.onmessage = function (e) {
      try { data = JSON.parse(e.data); } catch (err) { return; }
      render();
      status.textContent = data.live ? '· live' : '· run ended';
      if (!data.live) es.close();
    };
    es.onerror = function () { status.textContent = '· live view disconnected'; };
  }
})();
