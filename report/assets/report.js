// devicejs report: draws the data embedded in #report-data (see report/page.go) as plain SVG.
// No library, no network: the page works offline. Live pages (devicejs run/fleet --ui) replace
// the data from the server-sent events at ./events and draw again.
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var state = { filter: '', single: { view: null, cur: null, selected: null }, tests: {} };

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
  // (the packet type of a packet event when kind is missing), its test (test: its index in
  // tests, or -1) and its lane: lane is a short key, laneNames[lane] the name shown (made once
  // per lane). perTest: each test is drawn in a section of its own, so lanes carry no test
  // name; otherwise (a trace of an earlier version, with "test" in each record) each test
  // gets lanes of its own on the one timeline.
  function prepare(events, tests, perTest) {
    var groups = groupsOf(tests), named = {}, laneNames = {};
    var first = null;
    events.forEach(function (e) { var ms = Date.parse(e.time); if (!isNaN(ms) && (first === null || ms < first)) first = ms; });
    var all = events.map(function (e, i) {
      var t = num(e.t);
      if (t === null) { var ms = Date.parse(e.time); t = isNaN(ms) || first === null ? 0 : (ms - first) / 1000; }
      var kind = str(e.kind || e.packet || e.type || 'unknown');
      // a packet event (docs/trace.md) is counted and shown as "packet send PUBLISH"
      var label = kind === 'packet' ? ['packet', str(e.dir || e.direction), str(e.packet)].join(' ').replace(/ +/g, ' ').trim() : kind;
      var client = str(e.clientId || e.client_id || e.client) || '(no client)';
      var broker = str(e.broker) || '(broker)';
      // devicejs test --report: testIndex points into the trace's tests (earlier versions put
      // the name in every event)
      var g = null, test = -1;
      if (typeof e.testIndex === 'number' && groups[e.testIndex]) { g = groups[e.testIndex]; test = e.testIndex; }
      else if (!perTest && e.test) {
        var id = str(e.test) + '\u0000' + str(e.testStatus);
        g = named[id] || (named[id] = group('n' + Object.keys(named).length, str(e.test), str(e.testStatus)));
      }
      var gk = g && !perTest ? g.key + '\u0000' : '', gp = g && !perTest ? g.prefix : '';
      var dir = str(e.dir || e.direction).toLowerCase();
      var role, who;
      if (dir) role = IN_DIRS[dir] ? 'broker' : 'device';
      else role = BROKER_KINDS[kind] ? 'broker' : PEER_KINDS[kind] ? 'peers via' : 'device';
      who = role === 'device' ? client : broker;
      var lane = role + ' ' + gk + who;
      if (!(lane in laneNames)) laneNames[lane] = role + ' ' + gp + who;
      return { i: i, t: t, kind: kind, label: label, client: client, ckey: gk + client, group: g, test: test, topic: str(e.topic), lane: lane, raw: e };
    });
    return { all: all, laneNames: laneNames };
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

  // drawLanes draws evs (the filtered part of all) as swim lanes into svg, on a time axis from
  // 0 (or the earliest t) to tEnd seconds or the last event, whichever is later, or st.view
  // once the user zoomed or panned; pad (a test's section) starts the axis a little before 0
  // so that a mark at 0 is drawn whole. width is the svg's width, 0 for its parent's (read
  // from the layout: a page of many timelines reads it once). st keeps the view (view, cur)
  // and the selected event. It returns the lanes drawn and the reconnections.
  function drawLanes(svg, laneNames, all, evs, st, tEnd, clipId, pad, width) {
    var lanes = [], laneIdx = {};
    function addLane(name) { if (!(name in laneIdx)) { laneIdx[name] = lanes.length; lanes.push(name); } }
    // devices first, then brokers, then peers, each in order of appearance
    ['device ', 'broker ', 'peers '].forEach(function (p) { evs.forEach(function (ev) { if (ev.lane.indexOf(p) === 0) addLane(ev.lane); }); });

    var tMin = 0, tMax = tEnd > 0 && isFinite(tEnd) ? tEnd : 1;
    all.forEach(function (ev) {
      tMin = Math.min(tMin, ev.t);
      var end = ev.t + (ev.kind === 'reconnect_wait' ? (num(ev.raw.waitMs) || 0) / 1000 : 0);
      tMax = Math.max(tMax, end);
    });
    // Until the user zooms or pans, the view is the whole trace (a live trace keeps growing).
    st.cur = st.view || [tMin - (pad ? (tMax - tMin) * 0.01 : 0), tMax + (tMax - tMin) * 0.02];
    var v0 = st.cur[0], v1 = st.cur[1];

    clear(svg);
    var W = Math.max(600, (width || svg.parentNode.clientWidth || 1000) - 4), left = 300, right = 20, top = 28, laneH = 44;
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
      var name = laneNames[key];
      var what = name.slice(0, name.indexOf(' ')), rest = name.slice(what.length + 1); // keep the lane's role and the end of its name
      var g = el('g', { 'class': 'lane lane-' + what, 'data-lane': name }, svg);
      el('rect', { x: 0, y: top + k * laneH, width: W, height: laneH, 'class': k % 2 ? 'lane-bg odd' : 'lane-bg' }, g);
      text(g, 6, top + k * laneH + laneH / 2 + 4, what + ' ' + (rest.length > 36 ? '…' + rest.slice(-35) : rest), 'lane-label').appendChild(titleOf(name));
    });
    var clip = el('clipPath', { id: clipId }, el('defs', {}, svg));
    el('rect', { x: left, y: 0, width: plotW, height: H }, clip);
    var plot = el('g', { 'clip-path': 'url(#' + clipId + ')' }, svg);

    var recs = reconnections(evs);
    recs.forEach(function (ev, n) {
      var g = el('g', { 'class': 'reconnection', 'data-client': ev.client }, plot);
      el('line', { x1: x(ev.t), x2: x(ev.t), y1: top, y2: H - 10 }, g);
      text(g, x(ev.t) + 3, H - 12, 'reconnected #' + (n + 1), 'reconnection-label');
    });
    links(evs).forEach(function (p) {
      if (!(p[0].lane in laneIdx) || !(p[1].lane in laneIdx)) return;
      el('line', { x1: x(p[0].t), y1: y(p[0].lane), x2: x(p[1].t), y2: y(p[1].lane), 'class': 'link' }, plot);
    });
    evs.forEach(function (ev) {
      var cls = 'ev ev-' + ev.kind.replace(/[^A-Za-z0-9_-]/g, '_') + (st.selected === ev.i ? ' selected' : '');
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
    return { lanes: lanes, reconnections: recs.length };
  }

  // isTestRun: the trace of `devicejs test --report` (its tests and files listed once).
  function isTestRun(tr) {
    return (Array.isArray(tr.tests) && tr.tests.length > 0) || (Array.isArray(tr.testFiles) && tr.testFiles.length > 0);
  }

  function drawTrace() {
    var tr = data.trace;
    var section = document.getElementById('trace-section'), tests = document.getElementById('tests-section');
    if (!tr) { section.hidden = true; tests.hidden = true; return; }
    if (isTestRun(tr)) { section.hidden = true; tests.hidden = false; drawTests(tr); return; }
    tests.hidden = true;
    section.hidden = false;
    var p = prepare(tr.events || [], tr.tests, false);
    var evs = p.all.filter(function (ev) { return matches(ev, state.filter); });
    var st = state.single;
    var drawn = drawLanes(document.getElementById('timeline'), p.laneNames, p.all, evs, st, 0, 'plot-clip');

    // counts by kind over the filtered events, then the reconnections
    var table = document.getElementById('trace-counts');
    kindTable(table, evs);
    row(table, ['reconnections', String(drawn.reconnections)], { id: 'reconnection-count' });
    row(table, ['lanes', String(drawn.lanes.length)], { id: 'lane-count' });
    if (tr.skipped) row(table, ['unreadable lines', String(tr.skipped)], { id: 'skipped-count' });
    st.prepared = p.all;
  }

  // kindTable fills table with the number of events of each kind in evs.
  function kindTable(table, evs) {
    var counts = {}, order = [];
    evs.forEach(function (ev) { if (!(ev.label in counts)) { counts[ev.label] = 0; order.push(ev.label); } counts[ev.label]++; });
    clear(table);
    row(table, ['kind', 'events']);
    order.forEach(function (k) { row(table, [k, String(counts[k])], { 'data-kind': k }); });
  }

  function html(name, cls, parent, s) {
    var e = document.createElement(name);
    if (cls) e.className = cls;
    if (s !== undefined) e.textContent = s;
    if (parent) parent.appendChild(e);
    return e;
  }

  // drawTests draws a `devicejs test --report`: a summary (passed, failed, skipped, the files
  // and their errors), then one section per test, failed tests first, then the others in file
  // order, each with its status, its failure message, and only its own lanes on its own time
  // axis (its device time, from 0). Records that point to no test get a last section.
  function drawTests(tr) {
    var tests = Array.isArray(tr.tests) ? tr.tests : [], files = Array.isArray(tr.testFiles) ? tr.testFiles : [];
    var p = prepare(tr.events || [], tests, true);
    var per = tests.map(function () { return []; }), stray = [];
    p.all.forEach(function (ev) { (ev.test >= 0 ? per[ev.test] : stray).push(ev); });

    var n = { pass: 0, fail: 0, skip: 0 }, other = 0;
    tests.forEach(function (g) { var s = str(g && g.status); if (Object.prototype.hasOwnProperty.call(n, s)) n[s]++; else other++; });
    var broken = files.filter(function (f) { return f && f.error; });
    var sum = document.getElementById('test-summary');
    clear(sum);
    sum.className = n.fail || broken.length ? 'failed' : 'passed';
    var line = html('p', 'test-counts', sum, (n.fail || broken.length ? 'FAIL: ' : 'PASS: ') + n.pass + ' passed, ' + n.fail + ' failed, ' + n.skip + ' skipped' +
      (other ? ', ' + other + ' other' : '') + (broken.length ? ', ' + broken.length + (broken.length === 1 ? ' file' : ' files') + ' with errors' : '') +
      ' in ' + files.length + (files.length === 1 ? ' file' : ' files'));
    line.id = 'test-counts';
    line.setAttribute('data-passed', n.pass); line.setAttribute('data-failed', n.fail); line.setAttribute('data-skipped', n.skip);
    line.setAttribute('data-file-errors', broken.length);
    var ul = html('ul', 'test-files', sum);
    files.forEach(function (f) {
      var li = html('li', f && f.error ? 'test-file file-error' : 'test-file', ul, str(f && f.name));
      if (f && f.error) html('pre', 'message', li, str(f.error));
    });

    var order = [];
    tests.forEach(function (g, k) { if (str(g && g.status) === 'fail') order.push(k); });
    tests.forEach(function (g, k) { if (str(g && g.status) !== 'fail') order.push(k); });
    var box = document.getElementById('tests');
    clear(box);
    // the width of the sections' timelines, read once from the first one's layout: reading it
    // from each section's made 2,000 sections take 38 s to draw
    var layout = { width: 0 };
    order.forEach(function (k) { drawTest(box, 't' + k, tests[k] || {}, per[k], p, layout); });
    if (stray.length) drawTest(box, 'none', { name: '(records of no test)' }, stray, p, layout);
  }

  // drawTest draws one test's section (key: "t" and its index, or "none").
  function drawTest(box, key, g, list, p, layout) {
    var status = str(g.status), sec = html('section', 'test test-' + status.replace(/[^a-z]/g, '_'), box);
    sec.setAttribute('data-test', key);
    sec.setAttribute('data-status', status);
    var h = html('h3', 'test-head', sec);
    if (status) html('span', 'status', h, status === 'pass' ? 'PASS' : status === 'fail' ? 'FAIL' : status === 'skip' ? 'SKIP' : status);
    html('span', 'test-name', h, str(g.name));
    var deviceMs = num(g.deviceMs), info = html('p', 'test-info', sec);
    if (g.message) {
      html('div', 'message-label', sec, status === 'skip' ? 'skipped:' : status === 'fail' ? 'failure:' : 'message:');
      html('pre', 'message', sec, str(g.message));
    }
    var st = state.tests[key] || (state.tests[key] = { view: null, cur: null, selected: null });
    st.prepared = p.all;
    if (!list.length) { info.textContent = (deviceMs !== null ? fmt(deviceMs / 1000, 3) + ' s device time · ' : '') + 'no device traffic recorded'; return; }
    var controls = html('div', 'controls', sec);
    var wrap = html('div', 'timeline-wrap', sec);
    var svg = el('svg', { 'class': 'timeline', 'data-test': key }, wrap);
    if (!layout.width) layout.width = wrap.clientWidth || 1000;
    var details = html('pre', 'details', sec);
    details.hidden = true;
    var c = { svg: svg, st: st, details: details };
    c.redraw = function () {
      var evs = list.filter(function (ev) { return matches(ev, state.filter); });
      var d = drawLanes(svg, p.laneNames, list, evs, st, deviceMs !== null ? deviceMs / 1000 : 0, 'plot-clip-' + key, true, layout.width);
      info.textContent = (deviceMs !== null ? fmt(deviceMs / 1000, 3) + ' s device time · ' : '') + evs.length + ' of ' + list.length + ' events · ' +
        d.lanes.length + (d.lanes.length === 1 ? ' lane' : ' lanes') + ' · ' + d.reconnections + ' reconnections';
      sec.setAttribute('data-lanes', d.lanes.length);
    };
    [['+', 0.5], ['−', 2]].forEach(function (b) { html('button', '', controls, b[0]).onclick = function () { zoomView(c, b[1]); }; });
    html('button', '', controls, 'reset').onclick = function () { st.view = null; c.redraw(); };
    html('span', 'hint', controls, 'wheel: zoom · drag: pan · click an event: its fields');
    wire(c);
    c.redraw();
  }

  function titleOf(s) { var t = document.createElementNS(SVGNS, 'title'); t.textContent = s; return t; }

  // Zoom, pan and selection of a timeline c: {svg, st (its view and selection), redraw,
  // details (where a clicked event's fields go)}. One drag at a time, for any timeline.
  var drag = null;
  function zoomView(c, factor, at) {
    var st = c.st;
    if (!st.cur) return;
    var v0 = st.cur[0], v1 = st.cur[1], m = at === undefined ? (v0 + v1) / 2 : at;
    var span = Math.max(1e-6, (v1 - v0) * factor);
    st.view = [m - (m - v0) * span / (v1 - v0), m + (v1 - m) * span / (v1 - v0)];
    c.redraw();
  }
  function tAt(c, clientX) {
    var r = c.svg.getBoundingClientRect(), m = c.svg.__x;
    return c.st.cur[0] + (clientX - r.left - m.left) / m.plotW * (c.st.cur[1] - c.st.cur[0]);
  }
  function wire(c) {
    c.svg.addEventListener('wheel', function (e) { e.preventDefault(); zoomView(c, e.deltaY < 0 ? 0.8 : 1.25, tAt(c, e.clientX)); }, { passive: false });
    c.svg.addEventListener('mousedown', function (e) { if (c.st.cur) drag = { c: c, x: e.clientX, view: c.st.cur.slice(), moved: false }; });
  }
  function wireTimeline() {
    window.addEventListener('mousemove', function (e) {
      if (!drag) return;
      var dx = e.clientX - drag.x;
      if (Math.abs(dx) < 3 && !drag.moved) return;
      drag.moved = true;
      var dt = dx / drag.c.svg.__x.plotW * (drag.view[1] - drag.view[0]);
      drag.c.st.view = [drag.view[0] - dt, drag.view[1] - dt];
      drag.c.redraw();
    });
    window.addEventListener('mouseup', function (e) {
      var d = drag; drag = null;
      if (!d || d.moved) return;
      var i = e.target && e.target.getAttribute && e.target.getAttribute('data-i');
      if (i === null || i === undefined || !d.c.st.prepared || !d.c.st.prepared[Number(i)]) return;
      d.c.st.selected = Number(i);
      d.c.details.hidden = false;
      d.c.details.textContent = JSON.stringify(d.c.st.prepared[d.c.st.selected].raw, null, 2);
      d.c.redraw();
    });
    var single = { svg: document.getElementById('timeline'), st: state.single, details: document.getElementById('details'), redraw: drawTrace };
    wire(single);
    document.getElementById('zoom-in').onclick = function () { zoomView(single, 0.5); };
    document.getElementById('zoom-out').onclick = function () { zoomView(single, 2); };
    document.getElementById('zoom-reset').onclick = function () { state.single.view = null; drawTrace(); };
    ['filter', 'test-filter'].forEach(function (id) {
      document.getElementById(id).addEventListener('input', function (e) { state.filter = e.target.value.trim().toLowerCase(); drawTrace(); });
    });
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

  // lineChart draws lines over time. A line with right: true is scaled on an axis of its own
  // (drawn on the right, labelled rightLabel), so a small count (errors/s) next to a large one
  // (publishes/s) neither flattens it nor is flattened. Each line has a legend entry, and each
  // of its codes ([name, count]) one more below it.
  function lineChart(id, lines, yLabel, rightLabel, emptyText) {
    var svg = document.getElementById(id);
    clear(svg);
    var rows = 0;
    lines.forEach(function (l) { rows += 1 + (l.codes ? l.codes.length : 0); });
    var hasRight = lines.some(function (l) { return l.right; });
    var W = 760, plotH = 160, left = 60, bottom = 30, top = 10, right = hasRight ? 60 : 10;
    var legendTop = top + plotH + bottom, H = legendTop + rows * 15 + 6;
    svg.setAttribute('width', W); svg.setAttribute('height', H); svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var xMax = 0, yMaxL = 0, yMaxR = 0;
    lines.forEach(function (l) {
      l.points.forEach(function (p) {
        xMax = Math.max(xMax, p[0]);
        if (l.right) yMaxR = Math.max(yMaxR, p[1]); else yMaxL = Math.max(yMaxL, p[1]);
      });
    });
    if (xMax === 0) { svg.setAttribute('height', top + plotH + bottom); text(svg, left, (top + plotH) / 2, emptyText || 'no samples (the series is recorded with --report or --ui)', 'empty'); return; }
    yMaxL = yMaxL || 1; yMaxR = yMaxR || 1;
    function x(v) { return left + v / xMax * (W - left - right); }
    function y(v, yMax) { return top + (1 - v / yMax) * plotH; }
    ticks(0, xMax, 8).forEach(function (s) { text(svg, x(s), top + plotH + 14, (+s.toFixed(3)) + ' s', 'tick'); });
    text(svg, 4, top + 8, fmt(yMaxL, yMaxL < 10 ? 1 : 0), 'tick axis-left');
    text(svg, 4, top + plotH, '0', 'tick');
    if (hasRight) {
      text(svg, W - right + 4, top + 8, fmt(yMaxR, yMaxR < 10 ? 1 : 0), 'tick axis-right');
      text(svg, W - right + 4, top + plotH, '0', 'tick');
      text(svg, W - right + 4, top + 24, rightLabel || '', 'axis-label axis-right-label');
    }
    var row = 0;
    lines.forEach(function (l) {
      var yMax = l.right ? yMaxR : yMaxL;
      var pl = el('polyline', { points: l.points.map(function (p) { return x(p[0]).toFixed(1) + ',' + y(p[1], yMax).toFixed(1); }).join(' '),
        'class': 'series ' + l.cls, 'data-points': l.points.length, 'data-axis': l.right ? 'right' : 'left' }, svg);
      pl.appendChild(titleOf(l.name));
      var t = text(svg, left, legendTop + 12 + row++ * 15, '— ' + l.name + (hasRight ? (l.right ? ' (right axis)' : ' (left axis)') : ''), 'legend ' + l.cls);
      if (t) t.setAttribute('data-legend', l.name);
      (l.codes || []).forEach(function (c) {
        var e = text(svg, left + 24, legendTop + 12 + row++ * 15, '· ' + c[0] + ': ' + c[1] + ' in all', 'legend error-code ' + l.cls);
        if (e) e.setAttribute('data-error-code', c[0]);
      });
    });
    text(svg, left, top + plotH + 28, yLabel, 'axis-label');
  }

  // settingsRows adds the run's settings (summary "settings", fleet.md) to the figures table.
  function settingsRows(fig, st) {
    if (!st || typeof st !== 'object') return;
    var by = [['devicejs', st.version], ['broker', st.broker || 'as each script says'], ['link', st.link || 'none'],
      ['ramp', st.ramp], ['for (device time)', st['for']], ['time scale', st.time_scale], ['shard', st.shard],
      ['script sha256', st.script_sha256], ['e2e probe', st.e2e_probe], ['e2e subscriber', st.e2e_subscriber]];
    by.forEach(function (r) { if (r[1] !== undefined && r[1] !== null && r[1] !== '') row(fig, [r[0], str(r[1])], { 'class': 'setting' }); });
  }

  // drawThresholds lists the --threshold results (summary "thresholds"): which held.
  function drawThresholds(list) {
    var tb = document.getElementById('fleet-thresholds');
    clear(tb);
    row(tb, ['threshold', 'value', 'result']);
    if (!list.length) { row(tb, ['none given', '–', '–'], { 'class': 'none' }); return; }
    list.forEach(function (r) {
      var v = r.no_data ? 'no data' : (r.unit === 'ratio' ? fmt(100 * num(r.value), 3) + ' %' : str(r.value) + (r.unit === 'count' ? '' : ' ' + str(r.unit)));
      row(tb, [str(r.threshold), v, r.held ? 'held' : 'crossed'],
        { 'class': 'threshold ' + (r.held ? 'held' : 'crossed'), 'data-threshold': str(r.threshold) });
    });
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
    var series = Array.isArray(s.series) ? s.series : [];
    var last = series.length ? series[series.length - 1] : null;
    if (last && data.live) row(fig, ['now', last.connected + ' connected · ' + last.reconnecting + ' reconnecting (lost, waiting or attempting)'], { 'class': 'now' });
    if (s.publish_attempts) row(fig, ['publishes', s.publish_attempts + ' accepted = ' + (s.publish_attempts - (s.publish_errors || 0) - (s.in_flight_at_end || 0)) +
      ' completed + ' + (s.publish_errors || 0) + ' failed + ' + (s.in_flight_at_end || 0) + ' in flight at the end']);
    var pl = s.publish_latency_ms || {};
    ['qos0', 'qos1', 'qos2', 'all'].forEach(function (k) {
      var q = pl[k], h = (s.publish_latency_histograms || {})[k];
      if (q && h && h.count) row(fig, ['publish latency ms ' + k, 'p50 ' + fmt(q.p50) + ' · p90 ' + fmt(q.p90) + ' · p99 ' + fmt(q.p99) + ' · max ' + fmt(q.max) + ' (' + h.count + ')'], { 'class': 'latency' });
    });
    var e2e = s.e2e;
    if (e2e && typeof e2e === 'object') {
      var e = e2e.latency_ms || {}, eh = e2e.latency_histogram || {};
      row(fig, ['end-to-end latency ms (' + str(e2e.filter) + ')', (eh.count ? 'p50 ' + fmt(e.p50) + ' · p90 ' + fmt(e.p90) + ' · p99 ' + fmt(e.p99) + ' · max ' + fmt(e.max) + ' · ' : '') +
        (eh.count || 0) + ' received of ' + (e2e.sent || 0) + ' sent, ' + (e2e.unmatched || 0) + ' unmatched'], { 'class': 'latency e2e' });
    }
    (s.storms || []).forEach(function (st, k) {
      row(fig, ['storm ' + (k + 1), 'at ' + fmt(st.start_seconds, 1) + ' s: ' + st.connections_lost + ' lost, ' +
        (st.recovered ? 'all back after ' + fmt(st.recovery_seconds, 2) + ' s' : st.still_down + ' still down at the end') +
        '; publishes failed ' + st.publishes_failed + ', retried ' + st.publishes_retried], { 'class': 'storm' });
    });
    if (s.rss_bytes && s.instances) row(fig, ['memory', (s.rss_bytes / 1048576).toFixed(1) + ' MiB, ' + (s.rss_bytes / 1024 / s.instances).toFixed(1) + ' KiB per instance']);
    settingsRows(fig, s.settings);

    drawHistogram(f.histogram || []);
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
    var codes = Object.keys(s.errors || {}).sort().map(function (k) { return [k, s.errors[k]]; });
    lineChart('rate-chart', [
      { name: 'messages received/s', cls: 'received', points: rate('received') },
      { name: 'publishes completed/s', cls: 'published', points: rate('published') },
      { name: 'errors/s, all codes', cls: 'errors', points: rate('errors'), right: true, codes: codes }
    ], 'messages per second', 'errors/s');
    // Latency over time: the percentiles of each interval's completions (summary series).
    function lat(key) {
      var out = [];
      series.forEach(function (x) { var v = num(x[key]); if (v !== null && key in x) out.push([x.t, v]); });
      return out;
    }
    var latLines = [
      { name: 'publish p50 ms', cls: 'lat-p50', points: lat('publish_p50_ms') },
      { name: 'publish p99 ms', cls: 'lat-p99', points: lat('publish_p99_ms') }
    ];
    var e2e50 = lat('e2e_p50_ms'), e2e99 = lat('e2e_p99_ms');
    if (e2e50.length || e2e99.length) {
      latLines.push({ name: 'end-to-end p50 ms', cls: 'e2e-p50', points: e2e50 });
      latLines.push({ name: 'end-to-end p99 ms', cls: 'e2e-p99', points: e2e99 });
    }
    lineChart('latency-chart', latLines, 'ms, per interval', '', series.length ? 'no publish completed in any interval' : '');
    drawThresholds(s.thresholds || []);

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
      document.getElementById('filter').value = document.getElementById('test-filter').value = h.get('filter');
    }
    var from = num(h.get('from')), to = num(h.get('to'));
    if (h.get('from') && h.get('to') && from !== null && to !== null && to > from) state.single.view = [from, to];
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
