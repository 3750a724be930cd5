// A handler that computes for a long time (wall) while another timer is due soon after.
setInterval(function() {}, 1);
setTimeout(function() {
  print('before ' + Date.now());
  var x = 0;
  for (var i = 0; i < ITERATIONS; i++) { x += i % 7; }
  print('after ' + Date.now() + ' ' + (x > 0));
}, 10);
