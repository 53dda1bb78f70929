package jsonnull

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

type inner struct {
	A float64 `json:"a"`
	B []float32
}

type record struct {
	inner
	Name    string            `json:"name"`
	Skip    int               `json:"-"`
	Empty   string            `json:"empty,omitempty"`
	None    []int             `json:"none,omitempty"`
	Zero    float64           `json:"zero,omitempty"`
	Scores  []float64         `json:"scores"`
	Fixed   [2]float64        `json:"fixed"`
	ByName  map[string]any    `json:"by_name"`
	Nested  *inner            `json:"nested"`
	Nil     *inner            `json:"nil"`
	When    time.Time         `json:"when"`
	Raw     json.RawMessage   `json:"raw"`
	Bytes   []byte            `json:"bytes"`
	IntKeys map[int]string    `json:"int_keys"`
	Strs    map[string]string `json:"strs"`
	private int
}

func sample(x float64) record {
	return record{
		inner:   inner{A: x, B: []float32{1.5, float32(x)}},
		Name:    "run \"a\" <b>",
		Skip:    3,
		Scores:  []float64{0.25, x, -1e-9},
		Fixed:   [2]float64{x, 2},
		ByName:  map[string]any{"z": x, "a": []any{x, "s", nil, true}, "m": map[string]float64{"q": x}},
		Nested:  &inner{A: x},
		When:    time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC),
		Raw:     json.RawMessage(`{"k":[1,2]}`),
		Bytes:   []byte("hi"),
		IntKeys: map[int]string{2: "b", 1: "a"},
		Strs:    map[string]string{"b": "2", "a": "1"},
		private: 7,
	}
}

// Without NaN the output is byte for byte encoding/json's.
func TestSameAsEncodingJSONForFiniteValues(t *testing.T) {
	for _, v := range []any{sample(0.125), sample(-3), []float64{}, map[string]float64{}, nil, 1.5, "x", []*inner{nil, {A: 1}}} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("Marshal(%T):\n got %s\nwant %s", v, got, want)
		}
		wantI, _ := json.MarshalIndent(v, "", "  ")
		gotI, _ := MarshalIndent(v, "", "  ")
		if string(gotI) != string(wantI) {
			t.Errorf("MarshalIndent(%T) differs:\n%s\n%s", v, gotI, wantI)
		}
	}
}

// NaN and ±Inf become null wherever they are; the same value with the non-finite numbers
// replaced by nil reads back identically.
func TestNonFiniteFloatsBecomeNull(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := json.Marshal(sample(x)); err == nil {
			t.Fatal("encoding/json accepted a non-finite float: the test proves nothing")
		}
		got, err := Marshal(sample(x))
		if err != nil {
			t.Fatalf("%v: %v", x, err)
		}
		var back map[string]any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%v: output is not JSON: %v\n%s", x, err, got)
		}
		want := `{"a":null,"B":[1.5,null],"name":"run \"a\" \u003cb\u003e","scores":[0.25,null,-1e-9],"fixed":[null,2],` +
			`"by_name":{"a":[null,"s",null,true],"m":{"q":null},"z":null},"nested":{"a":null,"B":null},"nil":null,` +
			`"when":"2026-11-26T01:02:03Z","raw":{"k":[1,2]},"bytes":"aGk=","int_keys":{"1":"a","2":"b"},"strs":{"a":"1","b":"2"}}`
		if string(got) != want {
			t.Errorf("%v:\n got %s\nwant %s", x, got, want)
		}
	}
	if got, _ := Marshal(float32(math.NaN())); string(got) != "null" {
		t.Errorf("float32 NaN: %s", got)
	}
}
