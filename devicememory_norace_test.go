//go:build !race

package devicejs_test

// raceOn: the race detector makes goja and the heap walk of DeviceMemory several times slower.
const raceOn = false
