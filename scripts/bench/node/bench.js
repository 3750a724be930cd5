// MQTT.js side of the devicejs benchmark (see scripts/bench/main.go).
// Usage: node bench.js WORKLOAD HOST PORT
//   qos0 | qos1   chained publishes to a subscribed topic; RESULT msgs_per_s=
//   rtt           sequential publish -> own-message round trips; RESULT mean_us= p50_us= p99_us=
//   startup       connect, CONNACK, end, exit (the harness times the process)
//   footprint     1000 idle connected clients; RESULT rss_base_kb= rss_kb= clients=
'use strict';
const mqtt = require('mqtt');

const [workload, host, port] = process.argv.slice(2);
const url = 'mqtt://' + host + ':' + port;
const payload = Buffer.alloc(64, 'x');

function fail(msg) {
  console.error('FAIL ' + msg);
  process.exit(1);
}

function throughput(qos, total) {
  const topic = 'bench/mqttjs/' + process.pid + '/qos' + qos;
  const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0 });
  let sent = 0;
  let got = 0;
  let t0;
  let finished = false;
  c.on('error', (e) => fail(String(e)));
  c.on('message', () => {
    got++;
    if (got === total) {
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log('RESULT msgs_per_s=' + (total / dt).toFixed(0));
      finished = true;
      c.end();
    }
  });
  function next() {
    if (sent >= total) return;
    sent++;
    c.publish(topic, payload, { qos: qos }, (err) => {
      if (finished) return; // the last message can come back before its own completion
      if (err) fail('publish: ' + err);
      next();
    });
  }
  c.on('connect', () => {
    c.subscribe(topic, { qos: qos }, (err) => {
      if (err) fail('subscribe: ' + err);
      t0 = process.hrtime.bigint();
      next();
    });
  });
}

function rtt(total) {
  const topic = 'bench/mqttjs/' + process.pid + '/rtt';
  const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const samples = [];
  let start;
  let tStart;
  c.on('error', (e) => fail(String(e)));
  function next() {
    start = process.hrtime.bigint();
    c.publish(topic, payload, { qos: 0 });
  }
  c.on('message', () => {
    const now = process.hrtime.bigint();
    samples.push(Number(now - start) / 1e3);
    if (samples.length === total) {
      const mean = Number(now - tStart) / 1e3 / total;
      samples.sort((a, b) => a - b);
      const p50 = samples[Math.floor(total * 0.5)];
      const p99 = samples[Math.floor(total * 0.99)];
      console.log('RESULT mean_us=' + mean.toFixed(1) + ' p50_us=' + p50.toFixed(1) + ' p99_us=' + p99.toFixed(1));
      c.end();
      return;
    }
    next();
  });
  c.on('connect', () => {
    c.subscribe(topic, { qos: 0 }, (err) => {
      if (err) fail('subscribe: ' + err);
      tStart = process.hrtime.bigint();
      next();
    });
  });
}

function startup() {
  const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0 });
  c.on('error', (e) => fail(String(e)));
  c.on('connect', () => c.end());
}

function footprint(n) {
  if (global.gc) global.gc();
  const base = process.memoryUsage().rss;
  const clients = [];
  let connected = 0;
  for (let i = 0; i < n; i++) {
    const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 60000 });
    c.on('error', (e) => fail(String(e)));
    c.once('connect', () => {
      connected++;
      if (connected === n) {
        setTimeout(() => {
          const rss = process.memoryUsage().rss;
          console.log('RESULT rss_base_kb=' + (base >> 10) + ' rss_kb=' + (rss >> 10) + ' clients=' + n);
          let ended = 0;
          for (const x of clients) x.end(() => { if (++ended === n) process.exit(0); });
        }, 2000);
      }
    });
    clients.push(c);
  }
}

switch (workload) {
  case 'qos0': throughput(0, 20000); break;
  case 'qos1': throughput(1, 10000); break;
  case 'rtt': rtt(2000); break;
  case 'startup': startup(); break;
  case 'footprint': footprint(1000); break;
  default: fail('unknown workload ' + workload);
}
