// One script for the device and its tests: the globals a test gives (device.start's globals)
// replace the defaults; on the device, where no such global exists, the defaults apply.
var DEVICE_ID = typeof DEVICE_ID !== 'undefined' ? DEVICE_ID : 'sensor01';
var PASSWORD = typeof PASSWORD !== 'undefined' ? PASSWORD : 'secret';
print('id ' + DEVICE_ID + ' pw ' + PASSWORD);
if (typeof CFG !== 'undefined') {
  print('cfg ' + JSON.stringify(CFG) + ' keys ' + Object.keys(CFG).join(','));
  print('proto ' + (Object.getPrototypeOf(CFG) === Object.prototype) + ' array ' + Array.isArray(CFG.list));
}
