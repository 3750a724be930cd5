// A top level that computes before it sets anything up: a finite loop (well under
// runtime.SpinIdleAfter iterations) must not let device time move under it.
var ticks = 0;
setInterval(function() { ticks++; }, 10);
var t0 = Date.now();
var table = [];
for (var i = 0; i < 5000; i++) table.push(i * 2);
print('top level: ' + (Date.now() - t0) + ' ms of device time, ' + ticks + ' ticks');
