package sortedmap

import (
	"fmt"
	"testing"
)

func TestJoin(t *testing.T) {
	item := func(k string, v float64) string { return fmt.Sprintf("%s=%g", k, v) }
	for _, c := range []struct {
		m    map[string]float64
		want string
	}{
		{nil, ""},
		{map[string]float64{"b": 2, "a": 1, "c": 0.5}, "a=1; b=2; c=0.5"},
		{map[string]float64{"x": 3}, "x=3"},
	} {
		if got := Join(c.m, "; ", item); got != c.want {
			t.Errorf("Join(%v) = %q, want %q", c.m, got, c.want)
		}
	}
}
