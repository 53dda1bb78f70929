package torchpickle

import "testing"

// TestScanPickleRejectsOverlongLengths: a length beyond the data never reaches gopickle, which
// would allocate it.
func TestScanPickleRejectsOverlongLengths(t *testing.T) {
	cases := map[string][]byte{
		"BINBYTES8 of 2^40":   append([]byte("\x80\x04\x8e"), 0, 0, 0, 0, 0, 1, 0, 0),
		"BINUNICODE of 2^31":  append([]byte("\x80\x02X"), 0, 0, 0, 0x80),
		"FRAME longer":        append([]byte("\x80\x04\x95"), 0xff, 0xff, 0, 0, 0, 0, 0, 0, '.'),
		"negative BINSTRING":  append([]byte("\x80\x02T"), 0xff, 0xff, 0xff, 0xff),
		"no STOP":             []byte("\x80\x02K\x05"),
		"unknown opcode":      []byte("\x80\x02\xff."),
		"GLOBAL without line": []byte("\x80\x02ctorch"),
	}
	for name, data := range cases {
		if _, err := scanPickle(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n, err := scanPickle([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01u.trailing")); err != nil || n != 16 {
		t.Errorf("valid pickle: length %d, err %v; want 16", n, err)
	}
}
