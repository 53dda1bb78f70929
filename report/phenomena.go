package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/internal/sortedmap"
)

// phenomenonRecord is one entry of deepretina phenomena's results.json.
type phenomenonRecord struct {
	Description     string              `json:"description"`
	Criterion       string              `json:"criterion"`
	Truth           map[string]*float64 `json:"truth"`
	Model           map[string]*float64 `json:"model"`
	Reproduced      *bool               `json:"reproduced"`
	TruthReproduced *bool               `json:"truth_reproduced"`
}

// phenomenaMetaKeys are the keys of phenomena's results.json that are not experiments.
var phenomenaMetaKeys = map[string]bool{"kind": true, "run": true, "checkpoint": true, "format": true, "truth": true}

// readPhenomenaResults reads results.json, keeping the experiments in the file's order.
func readPhenomenaResults(path string) ([]string, map[string]phenomenonRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("phenomena results: %w", err)
	}
	// The experiments are keyed by name, beside "kind", "run" and "checkpoint" (or, in a
	// later layout, under "experiments").
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf("phenomena results %s: %w (expected the results.json of deepretina phenomena: an object keyed by experiment name)", path, err)
	}
	if exps, ok := top["experiments"]; ok {
		data = exps
		top = nil
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, nil, fmt.Errorf("phenomena results %s: experiments: %w (expected an object keyed by experiment name)", path, err)
		}
	}
	res := map[string]phenomenonRecord{}
	for k, v := range top {
		// Entries that are not objects (the counts) are not experiments either.
		if t := bytes.TrimSpace(v); phenomenaMetaKeys[k] || len(t) == 0 || t[0] != '{' {
			continue
		}
		var r phenomenonRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, nil, fmt.Errorf("phenomena results %s: experiment %q: %w", path, k, err)
		}
		res[k] = r
	}
	if len(res) == 0 {
		return nil, nil, fmt.Errorf("phenomena results %s: no experiments", path)
	}
	keys, err := objectKeys(data)
	if err != nil {
		return nil, nil, fmt.Errorf("phenomena results %s: %w", path, err)
	}
	var order []string
	for _, k := range keys {
		if _, ok := res[k]; ok {
			order = append(order, k)
		}
	}
	for _, k := range order {
		r := res[k]
		if r.Reproduced == nil || r.Model == nil {
			return nil, nil, fmt.Errorf("phenomena results %s: experiment %q lacks %q or %q", path, k, "reproduced", "model")
		}
	}
	return order, res, nil
}

// objectKeys lists the keys of a JSON object in the order they are written.
func objectKeys(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("expected a JSON object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func fmtMetrics(m map[string]*float64) string {
	if m == nil {
		return "—"
	}
	return sortedmap.Join(m, ", ", func(k string, v *float64) string {
		if v == nil {
			return k + " n/a"
		}
		return k + " " + strconv.FormatFloat(*v, 'g', 3, 64)
	})
}

// addPhenomena adds the battery's table and a chart of every metric, model against truth.
func addPhenomena(rep *figures.Report, path string) error {
	order, res, err := readPhenomenaResults(path)
	if err != nil {
		return err
	}
	yes := func(b *bool) string {
		switch {
		case b == nil:
			return "—"
		case *b:
			return "yes"
		}
		return "no"
	}
	t := figures.Table{Columns: []string{"experiment", "reproduced", "criterion", "model", "truth", "truth meets it"}}
	var cats []string
	var model, truth []float64
	hasTruth := false
	for _, name := range order {
		r := res[name]
		t.Rows = append(t.Rows, []string{name, yes(r.Reproduced), r.Criterion, fmtMetrics(r.Model), fmtMetrics(r.Truth), yes(r.TruthReproduced)})
		if r.Truth == nil {
			continue
		}
		hasTruth = true
		keys := make([]string, 0, len(r.Model))
		for k := range r.Model {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			mv, tv := r.Model[k], r.Truth[k]
			if mv == nil || tv == nil {
				continue
			}
			scale := math.Max(math.Abs(*mv), math.Abs(*tv))
			if scale == 0 {
				scale = 1
			}
			cats = append(cats, name+": "+k)
			model, truth = append(model, *mv/scale), append(truth, *tv/scale)
		}
	}
	rep.AddTable("Retinal phenomena", t)
	rep.AddText("", "From "+path+" (deepretina phenomena; its report.html beside it has one chart per experiment).")
	if !hasTruth {
		rep.AddText("", "The battery ran without a ground truth (a run on recorded data), so there is no model-against-truth chart.")
		return nil
	}
	fig, err := figures.Bars("Phenomena metrics: model vs truth (each metric divided by the larger magnitude of the two)", "", "scaled value",
		figures.BarSeries{Name: "model", Categories: cats, Values: model},
		figures.BarSeries{Name: "truth", Categories: cats, Values: truth, Color: "#7f7f7f"})
	if err != nil {
		return err
	}
	rep.AddFigure("", "Bars of the same height and sign: the model measures like the simulated retina.", fig)
	return nil
}
