package xlaplugin

import (
	"os"
	"testing"
)

// TestSetXLACPUFlags checks that the engine's XLA CPU options are added to $XLA_FLAGS and that
// a user's own setting of one of them is kept.
func TestSetXLACPUFlags(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "--xla_cpu_use_onednn=true --xla_cpu_experimental_onednn_custom_call=true"},
		{"--xla_dump_to=/tmp/x", "--xla_dump_to=/tmp/x --xla_cpu_use_onednn=true --xla_cpu_experimental_onednn_custom_call=true"},
		{"--xla_cpu_use_onednn=false", "--xla_cpu_use_onednn=false --xla_cpu_experimental_onednn_custom_call=true"},
		{"--xla_cpu_use_onednn=true --xla_cpu_experimental_onednn_custom_call=false", "--xla_cpu_use_onednn=true --xla_cpu_experimental_onednn_custom_call=false"},
	} {
		t.Setenv("XLA_FLAGS", tc.in)
		SetCPUFlags()
		if got := os.Getenv("XLA_FLAGS"); got != tc.want {
			t.Errorf("XLA_FLAGS=%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
