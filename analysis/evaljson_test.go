package analysis

import (
	"encoding/json"
	"math"
	"testing"
)

// Every undefined score, per cell or averaged, is null in the JSON summary: never 0, which
// would read as a real (and bad) score.
func TestEvaluationJSONWritesEveryNonFiniteScoreAsNull(t *testing.T) {
	nan := math.NaN()
	ev := &Evaluation{
		Run: "r", Cells: []int{0, 1},
		CNNPearson: []float64{nan, 0.5}, LNPearson: []float64{0.25, math.Inf(1)}, Ceiling: []float64{nan, nan},
		FEV: []float64{0.1, nan}, LNFEV: []float64{nan, 0.2}, BitsPerSpike: []float64{math.Inf(-1), 1}, LNBits: []float64{1, nan},
		CNNPearsonMean: nan, LNPearsonMean: math.Inf(1), CeilingMean: nan, FEVMean: math.Inf(-1),
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	for _, k := range []string{"cnn_pearson_mean", "ln_pearson_mean", "ceiling_mean", "fev_mean"} {
		if v, ok := got[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	want := map[string][]any{
		"cnn_pearson": {nil, 0.5}, "ln_pearson": {0.25, nil}, "ceiling": {nil, nil}, "fev": {0.1, nil},
		"ln_fev": {nil, 0.2}, "bits_per_spike": {nil, 1.0}, "ln_bits_per_spike": {1.0, nil},
	}
	for k, w := range want {
		g, _ := got[k].([]any)
		if len(g) != len(w) || g[0] != w[0] || g[1] != w[1] {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	// A value works as well as a pointer.
	if data2, err := json.Marshal(*ev); err != nil || string(data2) != string(data) {
		t.Errorf("value encoding differs: %v\n%s\n%s", err, data2, data)
	}
}
