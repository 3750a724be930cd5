function bad(g) {
  try { device.start('dev.js', {globals: g}); } catch (e) { return e.name + ': ' + e.message; }
  return 'no error';
}

test('the script sees the globals', function() {
  var d = device.start('dev.js', {globals: {DEVICE_ID: 'sensor02', PASSWORD: 'x',
    CFG: {z: 1, a: [1, 'two', null, true, {n: -1.5}], list: [], __proto__x: 0}}});
  world.after(10);
  expect(d).toHavePrinted('id sensor02 pw x');
  expect(d).toHavePrinted('cfg {"z":1,"a":[1,"two",null,true,{"n":-1.5}],"list":[],"__proto__x":0} keys z,a,list,__proto__x');
  expect(d).toHavePrinted('proto true array true');
});

test('without globals the defaults apply', function() {
  var d = device.start('dev.js');
  world.after(10);
  expect(d).toHavePrinted('id sensor01 pw secret');
});

test('a copy: changing the test value later changes nothing', function() {
  var cfg = {v: 1};
  var d = device.start('dev.js', {globals: {CFG: cfg}});
  cfg.v = 2;
  world.after(10);
  expect(d).toHavePrinted(/^cfg \{"v":1\}/);
});

test('bad values name the key', function() {
  var cyc = {a: 1}; cyc.self = cyc;
  var arr = [1]; arr.push(arr);
  var deep = []; for (var i = 0, x = deep; i < 150; i++) { x.push([]); x = x[0]; }
  var shapes = [
    [{F: function() {}}, 'TypeError: device.start: globals: "F": at F: a function is not plain JSON'],
    [{C: cyc}, '"C": at C.self: a cycle'],
    [{A: arr}, '"A": at A[1]: a cycle'],
    [{N: NaN}, '"N": at N: NaN is not plain JSON'],
    [{I: {x: [Infinity]}}, '"I": at I.x[0]: Infinity is not plain JSON'],
    [{M: -Infinity}, '"M": at M: -Infinity is not plain JSON'],
    [{U: undefined}, '"U": at U: undefined is not plain JSON'],
    [{S: Symbol('s')}, '"S": at S: a symbol is not plain JSON'],
    [{B: 10n}, '"B": at B: a BigInt is not plain JSON'],
    [{D: new Date(0)}, '"D": at D: a Date is not plain JSON'],
    [{P: new Map()}, '"P": at P: a Map is not plain JSON'],
    [{R: /x/}, '"R": at R: a RegExp is not plain JSON'],
    [{X: new Proxy({}, {})}, '"X": at X: a Proxy is not plain JSON'],
    [{W: new Number(1)}, '"W": at W: a boxed primitive is not plain JSON'],
    [{G: {get v() { throw new Error('getter'); }}}, '"G": reading it threw Error: getter'],
    [{DEEP: deep}, '"DEEP": at DEEP', 'nested deeper than 100 levels'],
    [{BIG: 'x'.repeat(1 << 20)}, 'more than 1048576 bytes'],
    [{mqtt: 1}, 'global "mqtt": not a usable global name'],
    [{print: 1}, 'global "print": not a usable global name'],
    [{JSON: {}}, 'global "JSON": not a usable global name'],
    [{'bad name': 1}, 'global "bad name": not a usable global name'],
    [{'1x': 1}, 'global "1x": not a usable global name'],
    [{'var': 1}, 'global "var": not a usable global name'],
    [{'': 1}, 'global "": not a usable global name'],
    ['DEVICE_ID=x', 'device.start: globals: want an object of NAME: value'],
    [[1, 2], 'device.start: globals: want an object of NAME: value'],
    [null, 'device.start: globals: want an object of NAME: value'],
  ];
  shapes.forEach(function(s) {
    var got = bad(s[0]);
    for (var i = 1; i < s.length; i++) {
      if (got.indexOf(s[i]) < 0) throw new Error('globals ' + s[i] + ': got ' + got);
    }
    if (got.indexOf('TypeError') !== 0) throw new Error('not a TypeError: ' + got);
  });
});
