package mqttwire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestDecodeLength(t *testing.T) {
	for _, tc := range []struct {
		name   string
		b      []byte
		n, hdr int
		err    error
	}{
		{"zero", []byte{0xC0, 0x00}, 0, 2, nil},
		{"one byte max", []byte{0x30, 0x7f, 1, 2}, 127, 2, nil},
		{"two bytes", []byte{0x30, 0x80, 0x01}, 128, 3, nil},
		{"four bytes max", []byte{0x30, 0xff, 0xff, 0xff, 0x7f}, MaxRemainingLength, 5, nil},
		{"empty", nil, 0, 0, nil},
		{"first byte only", []byte{0x30}, 0, 0, nil},
		{"continues past the end", []byte{0x30, 0x80, 0x80}, 0, 0, nil},
		{"five bytes", []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, 0, 0, ErrMalformedLength},
		{"five bytes, cut", []byte{0x30, 0x80, 0x80, 0x80, 0x80}, 0, 0, ErrMalformedLength},
	} {
		n, hdr, err := DecodeLength(tc.b)
		if n != tc.n || hdr != tc.hdr || !errors.Is(err, tc.err) {
			t.Errorf("%s: %d %d %v, want %d %d %v", tc.name, n, hdr, err, tc.n, tc.hdr, tc.err)
		}
	}
}

// TestAppendLengthRoundTrip: every length class encodes to the size MQTT gives it and decodes back.
func TestAppendLengthRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 2097151, 2097152, MaxRemainingLength} {
		b := AppendLength([]byte{0x30}, n)
		got, hdr, err := DecodeLength(b)
		if err != nil || got != n || hdr != len(b) {
			t.Errorf("%d: encoded %x, decoded %d %d %v", n, b, got, hdr, err)
		}
	}
}

func TestReadPacket(t *testing.T) {
	stream := []byte{0x30, 0x03, 'a', 'b', 'c', 0xD0, 0x00}
	r := bytes.NewReader(stream)
	h, body, err := ReadPacket(r, 10)
	if err != nil || h != 0x30 || string(body) != "abc" {
		t.Fatalf("first: %x %q %v", h, body, err)
	}
	if h, body, err = ReadPacket(r, 10); err != nil || h != 0xD0 || len(body) != 0 {
		t.Fatalf("second: %x %q %v", h, body, err)
	}
	if _, _, err = ReadPacket(r, 10); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"over the limit", []byte{0x30, 0x0b}, ErrTooLarge},
		{"malformed length", []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformedLength},
		{"cut in the length", []byte{0x30, 0x80}, io.ErrUnexpectedEOF},
		{"cut in the body", []byte{0x30, 0x05, 'a'}, io.ErrUnexpectedEOF},
	} {
		if _, _, err := ReadPacket(bytes.NewReader(tc.b), 10); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestNames(t *testing.T) {
	if PacketName(0x32) != "PUBLISH" || PacketName(0xF0) != "RESERVED" || TypeName(14) != "DISCONNECT" || TypeName(16) != "TYPE?" {
		t.Error("names")
	}
}
