package torchio

import (
	"os"
	"path/filepath"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// Helpers of this package's tests; those it shares with retina and retina/nn are internal/testutil.

func testBackend() compute.Backend { return gobackend.GetBackend() }

// checkpointDirs lists the checkpoint folders of a run folder (none if it has no checkpoints/).
func checkpointDirs(runDir string) []string {
	entries, _ := os.ReadDir(filepath.Join(runDir, "checkpoints"))
	var out []string
	for _, e := range entries {
		if e.IsDir() && e.Name()[0] != '.' {
			out = append(out, e.Name())
		}
	}
	return out
}
