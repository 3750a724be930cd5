test('typos the checker must catch', function() {
  var d = device.start('x.js', {clientID: 'a'});
  world.afterr(1000);
  expect(d).toHavePrintd('x');
  link.set({latency: '200ms'});
  broker.deny('a', 'read');
});
