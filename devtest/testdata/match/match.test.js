function started() {
  var d = device.start('pub.js');
  world.until(function() { return d.published().length >= 7; }, 10000);
  return d;
}

test('json: partial match', function() {
  var d = started();
  expect(d).toHavePublished({topic: 'tele/a', json: {seq: 3}});
  expect(d).toHavePublished({topic: 'tele/a', json: {seq: 2, nested: {b: {c: 2}}}});
  expect(d).toHavePublished({topic: 'tele/a', json: {}, count: 3});
  expect(d).toHavePublished({topic: 'tele/+', json: {tags: ['x', 'y']}, count: 3});
  expect(d).toHavePublished({topic: 'tele/arr', json: [1, 2, {k: 'v'}]});
  expect(d).toHavePublished({topic: 'tele/num', json: 42});
  expect(d).not.toHavePublished({topic: 'tele/a', json: {seq: 4}});
  expect(d).not.toHavePublished({topic: 'tele/a', json: {tags: ['x']}});
  expect(d).not.toHavePublished({topic: 'tele/arr', json: [1, 2]});
  expect(d).not.toHavePublished({topic: 'tele/a', json: {seq: '3'}});
  expect(d).not.toHavePublished({topic: 'tele/raw', json: {}});
  expect(d).toHavePublishedInOrder([{json: {seq: 1}}, {json: {seq: 3}}, {topic: 'tele/raw'}]);
});

test('json: no match shows the difference', function() {
  var d = started();
  expect(d).toHavePublished({topic: 'tele/a', json: {seq: 3, nested: {b: {c: 9}}}});
});

test('json: a payload that is not JSON says so', function() {
  var d = started();
  expect(d).toHavePublished({topic: 'tele/raw', json: {a: 1}});
});

test('json: too deep a payload says so', function() {
  var d = started();
  expect(d).toHavePublished({topic: 'tele/deep', json: []});
});

test('predicate', function() {
  var d = started();
  expect(d).toHavePublished(function(m) { return m.topic === 'tele/a' && m.json.seq === 2; });
  expect(d).toHavePublished(function(m) { return m.json !== undefined && m.json.temp >= 21; }, {count: 2});
  expect(d).toHavePublished(function(m) { return m.topic === 'tele/raw' && m.json === undefined && m.payload === 'not json'; });
  expect(d).not.toHavePublished(function(m) { return m.qos === 2; });
  expect(d).toHavePublishedInOrder([function(m) { return m.json && m.json.seq === 1; }, {topic: 'tele/num'}]);
});

test('predicate throwing', function() {
  var d = started();
  expect(d).toHavePublished(function(m) { return m.json.seq === 9; }); // m.json undefined on tele/raw
});

test('predicate returning a non-boolean', function() {
  var d = started();
  expect(d).toHavePublished(function(m) { m.topic === 'tele/a'; });
});

test('predicate returning a number', function() {
  var d = started();
  expect(d).not.toHavePublished(function(m) { return 1; });
});
