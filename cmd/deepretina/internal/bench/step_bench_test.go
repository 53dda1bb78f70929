//go:build steptime

package bench

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
)

// processCPU is the user + system CPU time of this process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTrainingStep times the training step TrainingThroughput measures (Adam, Poisson loss,
// one batch resident on the device) and reports its CPU time next to its wall time: on a shared
// machine the CPU time per step (`taskset -c 1` for one core) measures the work, where the wall
// time measures the load. A measurement, not a test: behind the steptime build tag.
//
//	go test -tags steptime -run '^$' -bench TrainingStep -benchtime 30x ./cmd/deepretina/internal/bench
//
// Environment: MODEL (bncnn or linearstacked; both if unset), BATCH (64), NONOISE=1 (no training
// noise).
func BenchmarkTrainingStep(b *testing.B) {
	backend, err := retina.NewBackend(os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	models := []string{nn.ModelBNCNN, nn.ModelLinearStacked}
	if m := os.Getenv("MODEL"); m != "" {
		models = []string{m}
	}
	batch := 64
	if s := os.Getenv("BATCH"); s != "" {
		if _, err := fmt.Sscan(s, &batch); err != nil {
			b.Fatalf("BATCH=%q: %v", s, err)
		}
	}
	for _, m := range models {
		mcfg := nn.DefaultModelConfig(5)
		mcfg.Type = m
		if os.Getenv("NONOISE") != "" {
			mcfg.Noise = 0
		}
		b.Run(fmt.Sprintf("%s/batch=%d/noise=%g", m, batch, mcfg.Noise), func(b *testing.B) {
			step, err := newStep(backend, mcfg, batch)
			if err != nil {
				b.Fatal(err)
			}
			for range 2 { // the first step compiles
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			cpu0 := processCPU(b)
			for b.Loop() {
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/step")
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
