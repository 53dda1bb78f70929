package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestLogLinesEveryTenth(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "epoch 1", 100, 0)
	for i := 0; i < 100; i++ {
		b.Step("loss 1.0")
	}
	b.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d log lines for 100 steps, want 10:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[9], "epoch 1: 100/100  loss 1.0") {
		t.Fatalf("last line %q", lines[9])
	}
	silent := New(nil, "x", 10, 0)
	silent.Step("")
}
