package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/deepretina/deepretina/figures"
)

// addProbe is the hook for the results of `deepretina probe` (being written elsewhere; it
// writes probe.json). What its specification fixes is drawn: "summary" = {"learned":
// {"bipolar": mean best r, "amacrine": …}, "untrained": {…}} becomes a table and a chart of
// learned against untrained per cell type. Everything else in the file is listed as key paths
// and values, so nothing it holds is hidden; once the probe command lands, its own figure
// builders replace that listing here.
func addProbe(rep *figures.Report, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("probe results: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("probe results %s: %w (expected the probe.json of deepretina probe: a JSON object)", path, err)
	}
	rep.AddText("Interneuron probe", "From "+path+" (deepretina probe).")
	if s, ok := doc["summary"]; ok {
		if err := addProbeSummary(rep, path, s); err != nil {
			return err
		}
	}
	var rows [][]string
	flattenJSON("", doc, &rows)
	const maxRows = 300
	note := ""
	if len(rows) > maxRows {
		note = fmt.Sprintf(" (the first %d of %d values)", maxRows, len(rows))
		rows = rows[:maxRows]
	}
	rep.AddTable("Probe results, as stored"+note, figures.Table{Columns: []string{"key", "value"}, Rows: rows})
	return nil
}

func addProbeSummary(rep *figures.Report, path string, s any) error {
	sum, ok := s.(map[string]any)
	if !ok {
		return fmt.Errorf("probe results %s: \"summary\" is not an object", path)
	}
	// learned and untrained are the headline numbers (held out when "scoring" says so); the
	// nulls and in-sample numbers stand beside them when the file has them.
	groups := []string{"learned", "untrained", "learned_null", "untrained_null", "learned_in_sample", "untrained_in_sample"}
	vals, types, err := readProbeSummary(path, sum, groups)
	if err != nil {
		return err
	}
	if len(types) == 0 {
		return nil
	}
	scoring, _ := sum["scoring"].(string)
	what := "mean best r (in sample: the best unit's r on the data it was chosen on)"
	if scoring == "held-out" {
		what = "mean held-out r (unit chosen on one half of each recording, scored on the other)"
	}
	order := make([]string, 0, len(types))
	for typ := range types {
		order = append(order, typ)
	}
	sort.Strings(order)
	cols := []string{"cell type", "learned", "untrained", "learned − untrained"}
	for _, g := range groups[2:] {
		if vals[g] != nil {
			cols = append(cols, strings.ReplaceAll(g, "_", " "))
		}
	}
	t := figures.Table{Columns: cols}
	var bars []figures.BarSeries
	for _, g := range groups {
		if vals[g] == nil || strings.HasSuffix(g, "in_sample") {
			continue
		}
		y := make([]float64, len(order))
		for i, typ := range order {
			y[i] = valueOr(vals[g], typ)
		}
		bars = append(bars, figures.BarSeries{Name: strings.ReplaceAll(g, "_", " "), Categories: order, Values: y})
	}
	for _, typ := range order {
		l, u := valueOr(vals["learned"], typ), valueOr(vals["untrained"], typ)
		row := []string{typ, fmtFloat(l), fmtFloat(u), fmtFloat(l - u)}
		for _, g := range groups[2:] {
			if vals[g] != nil {
				row = append(row, fmtFloat(valueOr(vals[g], typ)))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	rep.AddTable("", t)
	rep.AddText("", "Scores: "+what+". The null is the same procedure with each cell's potential shifted circularly in time against the stimulus: what selection alone reaches.")
	fig, err := figures.Bars("Best-unit correlation with the recorded interneurons: trained vs untrained model", "cell type", what, bars...)
	if err != nil {
		return err
	}
	rep.AddFigure("", "The untrained model has the same architecture: the difference is what training taught the hidden units.", fig)
	return nil
}

// readProbeSummary reads summary.<group> = {cell type: mean r} for each group present (null: NaN),
// and the cell types of the learned and untrained groups.
func readProbeSummary(path string, sum map[string]any, groups []string) (map[string]map[string]float64, map[string]bool, error) {
	types := map[string]bool{}
	vals := map[string]map[string]float64{}
	for _, g := range groups {
		m, ok := sum[g].(map[string]any)
		if !ok {
			if _, present := sum[g]; present {
				return nil, nil, fmt.Errorf("probe results %s: summary.%s is not an object of cell type → mean r", path, g)
			}
			continue
		}
		vals[g] = map[string]float64{}
		for typ, v := range m {
			f, ok := v.(float64)
			if !ok {
				if v == nil {
					f = math.NaN()
				} else {
					return nil, nil, fmt.Errorf("probe results %s: summary.%s.%s is %v, not a number", path, g, typ, v)
				}
			}
			vals[g][typ] = f
			if g == "learned" || g == "untrained" {
				types[typ] = true
			}
		}
	}
	return vals, types, nil
}

func valueOr(m map[string]float64, k string) float64 {
	if v, ok := m[k]; ok {
		return v
	}
	return math.NaN()
}

func fmtFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'f', 3, 64)
}

// flattenJSON lists every scalar of a decoded JSON value as (key path, value) rows, objects'
// keys in sorted order.
func flattenJSON(prefix string, v any, rows *[][]string) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flattenJSON(p, x[k], rows)
		}
	case []any:
		for i, e := range x {
			flattenJSON(fmt.Sprintf("%s[%d]", prefix, i), e, rows)
		}
	case nil:
		*rows = append(*rows, []string{prefix, "null"})
	case float64:
		*rows = append(*rows, []string{prefix, strconv.FormatFloat(x, 'g', 4, 64)})
	default:
		*rows = append(*rows, []string{prefix, fmt.Sprint(x)})
	}
}
