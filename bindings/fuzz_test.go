package bindings

import (
	"slices"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// FuzzStrings checks the string helpers on arbitrary UTF-16 (pairs of fuzz bytes are code
// units, so lone surrogates are common): nameString accepts exactly the well-formed strings
// and returns them unchanged; payloadString accepts every string and returns valid UTF-8.
func FuzzStrings(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {'a', 0}, {0x00, 0xD8}, {0x00, 0xDC, 'a', 0}, {0x3D, 0xD8, 0x00, 0xDE}, {0xFF, 0xFF},
	} {
		f.Add(seed)
	}
	vm := goja.New()
	fromCharCode, ok := goja.AssertFunction(vm.Get("String").ToObject(vm).Get("fromCharCode"))
	if !ok {
		f.Fatal("no String.fromCharCode")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		units := make([]uint16, len(data)/2)
		args := make([]goja.Value, len(units))
		for i := range units {
			units[i] = uint16(data[2*i]) | uint16(data[2*i+1])<<8
			args[i] = vm.ToValue(units[i])
		}
		v, err := fromCharCode(goja.Undefined(), args...)
		if err != nil {
			t.Fatal(err)
		}
		wellFormed := true
		for i := 0; i < len(units); i++ {
			switch u := units[i]; {
			case utf16.IsSurrogate(rune(u)) && u < 0xDC00 && i+1 < len(units) && units[i+1] >= 0xDC00 && units[i+1] <= 0xDFFF:
				i++
			case utf16.IsSurrogate(rune(u)):
				wellFormed = false
			}
		}
		name, ok := nameString(v)
		if ok != wellFormed {
			t.Fatalf("nameString(%x) ok = %v, want %v", units, ok, wellFormed)
		}
		if ok && !slices.Equal(utf16.Encode([]rune(name)), units) {
			t.Fatalf("nameString(%x) = %q changed the string", units, name)
		}
		payload, ok := payloadString(v)
		if !ok || !utf8.ValidString(payload) {
			t.Fatalf("payloadString(%x) = %q, %v", units, payload, ok)
		}
		if wellFormed && payload != name {
			t.Fatalf("payloadString(%x) = %q, nameString %q", units, payload, name)
		}
	})
}

// FuzzInteger checks integer on arbitrary numbers: it accepts exactly the safe integers and
// returns them exactly.
func FuzzInteger(f *testing.F) {
	for _, seed := range []float64{0, -1, 1.5, 1 << 53, 1<<53 - 1, -(1<<53 - 1), 2147483647, 1e300} {
		f.Add(seed)
	}
	vm := goja.New()
	f.Fuzz(func(t *testing.T, x float64) {
		n, ok := integer(vm.ToValue(x))
		want := x == float64(int64(x)) && x <= maxSafeInteger && x >= -maxSafeInteger
		if ok != want || (ok && float64(n) != x) {
			t.Fatalf("integer(%v) = %d, %v; want ok %v", x, n, ok, want)
		}
	})
}
