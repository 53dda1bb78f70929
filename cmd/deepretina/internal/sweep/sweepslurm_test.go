package sweep

import (
	"os/exec"
	"testing"
)

func TestArraySpecAndShellQuoting(t *testing.T) {
	for _, c := range []struct {
		idx  []int
		want string
	}{{[]int{0, 1, 2, 3}, "0-3"}, {[]int{5, 0, 2, 3, 7, 8, 9}, "0,2-3,5,7-9"}, {[]int{4}, "4"}} {
		if got := arraySpec(c.idx); got != c.want {
			t.Errorf("arraySpec(%v) = %q, want %q", c.idx, got, c.want)
		}
	}
	for _, s := range []string{"/plain/path.json", "/with space/x", "it's", "$HOME", "a\"b", ""} {
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("shellQuote(%q) = %s: the shell reads %q (%v)", s, shellQuote(s), out, err)
		}
	}
}
