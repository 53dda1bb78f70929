package retina

import "testing"

func TestTrainingThroughputMeasures(t *testing.T) {
	cfg := ModelConfig{Type: ModelBNCNN, NCells: 2, ImgShape: [3]int{4, 10, 10}, Chans: []int{2, 2}, KSizes: []int{3, 3},
		Noise: 0.05, BNMomentum: 0.01, BNEps: 1e-3}
	rate, err := TrainingThroughput(goBackend(t), cfg, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !(rate > 0) {
		t.Fatalf("rate %v", rate)
	}
	cfg.KSizes = []int{30, 3}
	if _, err := TrainingThroughput(goBackend(t), cfg, 4, 1); err == nil {
		t.Fatal("an invalid model was benchmarked")
	}
}

// BenchmarkTrainStepSmall is the CPU preset's BNCNN (20×20×20, kernels 9/7, 8 cells, batch 64).
// Run: go test -bench TrainStep -run '^$' ./retina/
func BenchmarkTrainStepSmall(b *testing.B) {
	cfg := ModelConfig{Type: ModelBNCNN, NCells: 8, ImgShape: [3]int{20, 20, 20}, Chans: []int{8, 8}, KSizes: []int{9, 7},
		Noise: 0.05, BNMomentum: 0.01, BNEps: 1e-3}
	backend := goBackend(b)
	b.ResetTimer()
	rate, err := TrainingThroughput(backend, cfg, 64, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "samples/s")
}
