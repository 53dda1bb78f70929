// Command misses diagnoses why a trained model misses a phenomenon that its simulated truth
// shows (issue 19; docs/validation.md, "Why four phenomena are missed (session 8)"). For each
// experiment, each responder and each battery seed it prints every judged cell's statistic, its
// LN reference's, and which half of the criterion the cell meets: the phenomenon itself
// (phenomena.Experiment.Shows: e.g. gain_ratio < 1 and speedup_ms > 0) and the margin over its
// reference (Beyond: e.g. gain_ratio ≤ 0.8 × the surrogate's). A cell shows the phenomenon when
// both hold on every seed, as `deepretina phenomena` judges it (phenomena.Judge, one seed at a
// time, with the same surrogates and receptive-field maps).
// At the end it prints each responder's verdicts (`passed` in the JSON: the experiment passed
// as `deepretina phenomena` judges it) and how many of the experiments it passed.
//
// The responders are the run's model, its simulated truth, and the "windowed truth" (Windowed):
// the truth's response at frame k computed from the real stimulus over the model's window,
// frames [k − window, k), and mean grey before and at k, i.e. the simulated retina run from its
// grey state on each window. It is one feedforward function of the model's input, so a
// phenomenon it shows is within reach of a model with that window, and one it loses needs
// memory beyond the window in this truth.
//
// Usage (a few minutes on 2 busy cores for the four experiments on all three responders; run
// it under nice on a shared machine):
//
//	go run ./scripts/misses --run /tmp/recipe7-out/default/runs/bncnn-small --json /tmp/miss8-out/default.json
//	go run ./scripts/misses --run RUN --recording ns        # a run of several recordings
//	go run ./scripts/misses --responders windowed --window 20,40,100 --only contrast_adaptation
//	go run ./scripts/misses --ceiling ns=/tmp/recipe7-out/data-base/sim-small/naturalscene.h5 --window 20,40,60
//	go run ./scripts/misses --contrast base=/tmp/recipe7-out/data-base/sim-small/naturalscene.h5,crange4=…
//
// --ceiling prints, per cell, the correlation of the windowed truth's rates with the truth's on
// each file's test stimulus: how much of the truth a feedforward function of the window can
// follow at best in this form.
//
// --contrast prints, for the training stimulus of each file, the local contrast that the
// truth's gain control sees (contrastSeries): its percentiles, and how often it changed by 2×
// and by 3.5× (the experiment's 0.7 → 0.2) within 1 s, beside the same for the
// contrast-adaptation experiment's own flicker.
//
// Without --run the truth is the simulated retina of --preset and --sim-seed, read out like a
// model of --window frames (its first value), and the model is left out.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/phenomena"
	"github.com/deepretina/deepretina/phenomena/stimuli"
	"github.com/deepretina/deepretina/retina"
)

// keyMetrics are the statistics each criterion reads, printed per cell (others: all metrics).
var keyMetrics = map[string][]string{
	"contrast_adaptation": {"gain_ratio", "speedup_ms"},
	"motion_anticipation": {"lead_um", "ln_lead_um"},
	"motion_reversal":     {"burst_ratio"},
	"object_motion":       {"oms_index", "ln_oms_index", "oms_t"},
}

// The four phenomena that every recipe misses at ≥ 3 of 5 model seeds (docs/validation.md,
// "Across model seeds (session 7)").
const defaultOnly = "contrast_adaptation,motion_anticipation,motion_reversal,object_motion"

// cellResult is one cell of one responder on one seed.
type cellResult struct {
	Cell      int               `json:"cell"`
	Type      string            `json:"type,omitempty"`
	Metrics   phenomena.Metrics `json:"metrics"`
	Surrogate phenomena.Metrics `json:"surrogate"` // the white-noise LN surrogate's same cell
	Shows     bool              `json:"shows"`     // the literature's criterion
	Beyond    bool              `json:"beyond"`    // the margin over the LN reference
}

// seedResult is one responder judged on one seed.
type seedResult struct {
	Seed      uint64            `json:"seed"`
	Medians   phenomena.Metrics `json:"medians"`
	Surrogate phenomena.Metrics `json:"surrogate_medians"`
	Cells     []cellResult      `json:"cells"`
}

// responderResult is one responder on one experiment: each seed, and the cells that pass on
// every seed (what `deepretina phenomena` reports).
type responderResult struct {
	Seeds []seedResult `json:"seeds"`
	Shown []int        `json:"shown_by"`
	// Passed is the experiment's verdict as `deepretina phenomena` gives it (passed): a
	// phenomenon is shown by ≥ phenomena.MinCells cells on every seed; a sanity check or a
	// control passes when its medians meet the criterion on every seed.
	Passed  bool    `json:"passed"`
	Seconds float64 `json:"seconds"`
}

type subject struct {
	name string
	desc string
	s    *phenomena.Subject
}

func main() {
	run := flag.String("run", "", "run folder of a trained model (its truth: the simulated retina it was trained on)")
	recording := flag.String("recording", "", "the recording of a multi-recording run")
	preset := flag.String("preset", "small", "without --run: the simulated retina's preset")
	simSeed := flag.Uint64("sim-seed", 1, "without --run: the simulated retina's seed")
	only := flag.String("only", defaultOnly, "comma-separated experiments")
	seedList := flag.String("seeds", "1,2", "battery seeds (deepretina phenomena judges on 1 and 2)")
	windows := flag.String("window", "", "window(s) of the windowed truth in frames, comma-separated (default: the model's history, or 40)")
	responders := flag.String("responders", "model,truth,windowed", "which responders to judge")
	jsonOut := flag.String("json", "", "write the per-cell results to this file")
	ceiling := flag.String("ceiling", "", "instead: how well the windowed truth (--window, default 40) follows the truth on recordings' test stimuli, LABEL=FILE.h5,…")
	rf := flag.Bool("rf", false, "also print each responder's receptive-field centres (white-noise mapping)")
	contrast := flag.String("contrast", "", "instead: the local contrast the truth adapts to in recordings' training stimuli, LABEL=FILE.h5,… (and in the contrast-adaptation experiment's flicker)")
	flag.Parse()
	if *ceiling != "" {
		if err := ceilingReport(*ceiling, *preset, *simSeed, *windows); err != nil {
			fmt.Fprintln(os.Stderr, "misses:", err)
			os.Exit(1)
		}
		return
	}
	if *contrast != "" {
		if err := contrastReport(*contrast, *preset); err != nil {
			fmt.Fprintln(os.Stderr, "misses:", err)
			os.Exit(1)
		}
		return
	}
	if err := mainErr(*run, *recording, *preset, *simSeed, *only, *seedList, *windows, *responders, *jsonOut, *rf); err != nil {
		fmt.Fprintln(os.Stderr, "misses:", err)
		os.Exit(1)
	}
}

func mainErr(run, recording, preset string, simSeed uint64, only, seedList, windowList, responders, jsonOut string, rf bool) error {
	exps, err := phenomena.Select(splitList(only))
	if err != nil {
		return fmt.Errorf("--only: %w", err)
	}
	seeds, err := parseInts(seedList)
	if err != nil || len(seeds) == 0 {
		return fmt.Errorf("--seeds %q: expected comma-separated positive integers", seedList)
	}
	want := map[string]bool{}
	for _, r := range splitList(responders) {
		if r != "model" && r != "truth" && r != "windowed" {
			return fmt.Errorf("--responders: %q: expected model, truth or windowed", r)
		}
		want[r] = true
	}

	// The truth and the model.
	var model *retina.Model
	history := datasets.DefaultHistory
	var truth *phenomena.SimResponder
	var cells []int
	truthDesc := ""
	if run != "" {
		if model, err = retina.LoadModel(run, retina.LoadOptions{Recording: recording}); err != nil {
			return fmt.Errorf("--run: %w", err)
		}
		history = model.Meta.InputShape[0]
		tr, desc, err := phenomena.TruthForRun(model.Meta, "")
		if err != nil {
			return fmt.Errorf("--run %s: %w", run, err)
		}
		if tr == nil && (want["truth"] || want["windowed"]) {
			return fmt.Errorf("--run %s: trained on recorded data: it has no simulated truth", run)
		}
		if tr != nil {
			truth, truthDesc, cells = tr.(*phenomena.SimResponder), desc, tr.(*phenomena.SimResponder).Cells
		}
	} else {
		if want["model"] {
			delete(want, "model")
		}
		if truth, err = phenomena.NewSimResponder(preset, simSeed, history, nil); err != nil {
			return fmt.Errorf("--preset %s --sim-seed %d: %w", preset, simSeed, err)
		}
		truthDesc = fmt.Sprintf("simulated retina preset=%s seed=%d", preset, truth.Retina.Config().Seed)
	}
	wins := []int{history}
	if windowList != "" {
		ws, err := parseInts(windowList)
		if err != nil || len(ws) == 0 {
			return fmt.Errorf("--window %q: expected comma-separated positive frame counts", windowList)
		}
		wins = nil
		for _, w := range ws {
			wins = append(wins, int(w))
		}
		if run == "" && truth != nil {
			truth.History = wins[0]
		}
	}

	var subjects []subject
	types := map[string][]string{}
	if want["model"] && model != nil {
		subjects = append(subjects, subject{"model", run, phenomena.NewSubject(phenomena.ModelResponder{Model: model})})
	}
	if truth != nil {
		ct := truth.Retina.CellTypes()
		var tt []string
		if cells == nil {
			tt = ct
		} else {
			for _, c := range cells {
				tt = append(tt, ct[c])
			}
		}
		if want["truth"] {
			subjects = append(subjects, subject{"truth", truthDesc, phenomena.NewSubject(truth)})
		}
		if want["windowed"] {
			cfg := truth.Retina.Config()
			for _, w := range wins {
				// The same retina as the truth, read out with no history of its own, shown the
				// same physical stimulus (its normalisation; grey before the window is z = 0,
				// the normalisation's mean, as for the model).
				inner := &phenomena.SimResponder{Retina: truth.Retina, History: 0, Cells: cells, Norm: truth.Norm}
				name := fmt.Sprintf("windowed%d", w)
				desc := fmt.Sprintf("%s, each frame from the %d frames (%.0f ms) before it, grey before", truthDesc, w, 1000*float64(w)/cfg.FrameRate)
				subjects = append(subjects, subject{name, desc, phenomena.NewSubject(Windowed{Inner: inner, Window: w})})
			}
		}
		for _, s := range subjects {
			if s.name != "model" {
				types[s.name] = tt
			}
		}
		if model != nil {
			types["model"] = tt
		}
	}
	if len(subjects) == 0 {
		return fmt.Errorf("--responders %q: nothing to judge", responders)
	}
	for _, s := range subjects {
		fmt.Printf("# %s: %s\n", s.name, s.desc)
	}
	if rf {
		// Where the battery's white-noise mapping puts each cell (motion reversal and object
		// motion place their stimuli there).
		for _, s := range subjects {
			pts, err := phenomena.ReceptiveFieldCentres(s.s.R)
			if err != nil {
				return fmt.Errorf("receptive fields of %s: %w", s.name, err)
			}
			fmt.Printf("# %s receptive-field centres (x, y px):", s.name)
			for c, p := range pts {
				fmt.Printf(" %d (%.1f, %.1f)", c, p.X, p.Y)
			}
			fmt.Println()
		}
	}

	results := map[string]map[string]*responderResult{}
	for _, e := range exps {
		results[e.Name] = map[string]*responderResult{}
		fmt.Printf("\n## %s — %s\n", e.Name, e.Criterion)
		for _, s := range subjects {
			start := time.Now()
			rr := &responderResult{}
			for _, seed := range seeds {
				v, err := phenomena.Judge(e, s.s, []uint64{seed})
				if err != nil {
					return fmt.Errorf("%s on %s, seed %d: %w", e.Name, s.name, seed, err)
				}
				sr := seedResult{Seed: seed, Medians: v.Metrics, Surrogate: v.Surrogate}
				for c, m := range v.Outcome.Cells {
					if m == nil {
						continue
					}
					var sm phenomena.Metrics
					if v.SurrogateOutcome != nil && c < len(v.SurrogateOutcome.Cells) {
						sm = v.SurrogateOutcome.Cells[c]
					}
					cr := cellResult{Cell: c, Metrics: m, Surrogate: sm, Shows: e.Shows(m), Beyond: e.Beyond(m, nanIfNil(m, sm))}
					if t := types[s.name]; c < len(t) {
						cr.Type = t[c]
					}
					sr.Cells = append(sr.Cells, cr)
				}
				rr.Seeds = append(rr.Seeds, sr)
			}
			rr.Shown = shownOnEverySeed(rr.Seeds)
			rr.Passed = passed(e, rr)
			rr.Seconds = time.Since(start).Seconds()
			results[e.Name][s.name] = rr
			printResponder(e.Name, s.name, rr)
		}
	}
	printVerdicts(exps, subjects, results)
	if jsonOut != "" {
		out := map[string]any{"kind": "deepretina.misses", "run": run, "recording": recording, "seeds": seeds, "responders": describe(subjects), "experiments": results}
		data, err := json.MarshalIndent(out, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonOut, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
		fmt.Println("\nwrote", jsonOut)
	}
	return nil
}

// passed is the experiment's verdict on one responder, as phenomena.Judge gives it over the
// same seeds: a phenomenon needs ≥ phenomena.MinCells cells that meet both halves on every
// seed (rr.Shown); a sanity check or a control needs its medians to meet the criterion on every
// seed.
func passed(e phenomena.Experiment, rr *responderResult) bool {
	if e.Role == phenomena.RolePhenomenon {
		return len(rr.Shown) >= phenomena.MinCells
	}
	if len(rr.Seeds) == 0 {
		return false
	}
	for _, s := range rr.Seeds {
		if !e.Passes(s.Medians, s.Surrogate) {
			return false
		}
	}
	return true
}

// printVerdicts prints, per responder, each experiment's verdict and the count passed.
func printVerdicts(exps []phenomena.Experiment, subjects []subject, results map[string]map[string]*responderResult) {
	fmt.Printf("\n## verdicts\n")
	for _, s := range subjects {
		n, ph, nph := 0, 0, 0
		var lost []string
		for _, e := range exps {
			rr := results[e.Name][s.name]
			if rr == nil {
				continue
			}
			if e.Role == phenomena.RolePhenomenon {
				nph++
			}
			if rr.Passed {
				n++
				if e.Role == phenomena.RolePhenomenon {
					ph++
				}
			} else {
				lost = append(lost, e.Name)
			}
		}
		fmt.Printf("%s: %d of %d experiments passed (%d of %d phenomena); not passed: %s\n", s.name, n, len(exps), ph, nph, strings.Join(lost, ", "))
	}
}

// nanIfNil gives a cell whose surrogate cell did not respond NaN metrics, as phenomena.Judge
// does (no margin passes NaN).
func nanIfNil(m, sm phenomena.Metrics) phenomena.Metrics {
	if sm != nil {
		return sm
	}
	out := phenomena.Metrics{}
	for k := range m {
		out[k] = math.NaN()
	}
	return out
}

// shownOnEverySeed lists the cells that meet both halves of the criterion on every seed.
func shownOnEverySeed(seeds []seedResult) []int {
	count := map[int]int{}
	for _, s := range seeds {
		for _, c := range s.Cells {
			if c.Shows && c.Beyond {
				count[c.Cell]++
			}
		}
	}
	out := []int{}
	for c, n := range count {
		if n == len(seeds) {
			out = append(out, c)
		}
	}
	sort.Ints(out)
	return out
}

func printResponder(exp, name string, rr *responderResult) {
	keys := keyMetrics[exp]
	fmt.Printf("\n%s (%.0f s): shown by cells %v\n", name, rr.Seconds, rr.Shown)
	for _, s := range rr.Seeds {
		if keys == nil {
			keys = sortedKeys(s.Medians)
		}
		fmt.Printf("  seed %d  medians %s | surrogate %s\n", s.Seed, fmtMetrics(s.Medians, keys), fmtMetrics(s.Surrogate, keys))
		for _, c := range s.Cells {
			fmt.Printf("    cell %d %-9s %s | surrogate %s | shows %-5v beyond %-5v\n", c.Cell, c.Type, fmtMetrics(c.Metrics, keys), fmtMetrics(c.Surrogate, keys), c.Shows, c.Beyond)
		}
	}
}

func fmtMetrics(m phenomena.Metrics, keys []string) string {
	var parts []string
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			parts = append(parts, k+" –")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.3g", k, v))
	}
	return strings.Join(parts, " ")
}

func sortedKeys(m phenomena.Metrics) []string {
	var out []string
	for k := range m {
		if k != "n_cells" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func describe(subjects []subject) map[string]string {
	out := map[string]string{}
	for _, s := range subjects {
		out[s.name] = s.desc
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// loadLabelled loads the recording of one LABEL=FILE.h5 item of a list flag.
func loadLabelled(flag, item string) (string, *datasets.Recording, error) {
	label, file, ok := strings.Cut(item, "=")
	if !ok || label == "" || file == "" {
		return "", nil, fmt.Errorf("%s %q: expected LABEL=FILE.h5", flag, item)
	}
	rec, err := datasets.LoadFile(file, "", nil)
	if err != nil {
		return "", nil, fmt.Errorf("%s %s: %w", flag, label, err)
	}
	return label, rec, nil
}

func parseInts(s string) ([]uint64, error) {
	var out []uint64
	for _, p := range splitList(s) {
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("%q: expected a positive integer", p)
		}
		out = append(out, v)
	}
	return out, nil
}

func contrastReport(list, preset string) error {
	cfg, err := simretina.Preset(preset)
	if err != nil {
		return fmt.Errorf("--preset: %w", err)
	}
	circ := simretina.DefaultCircuit()
	if cfg.Circuit != (simretina.Circuit{}) {
		circ = cfg.Circuit
	}
	lag := int(math.Round(cfg.FrameRate)) // 1 s
	factors := []float64{2, 3.5}
	report := func(label string, stim datasets.Movie) error {
		st, err := summariseContrast(contrastSeries(stim, circ, cfg.FrameRate), lag, lag, factors)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		fmt.Printf("%-28s %7d frames  c p5 %.3f p50 %.3f p95 %.3f (p95/p5 %.1f)  changed within 1 s by ≥2×: %.4f, by ≥3.5×: %.4f\n",
			label, stim.T, st.P5, st.P50, st.P95, st.P95/st.P5, st.FracChangedBy[2], st.FracChangedBy[3.5])
		return nil
	}
	// The experiment's flicker (phenomena.ContrastAdaptationExperiment): full field, 0.7 for
	// 8 s, 0.2 for 8 s (the same noise), 0.7 for 4 s.
	hi := stimuli.WhiteNoise(cfg.H, cfg.W, 8*lag, 0.7, max(cfg.H, cfg.W), false, 1101)
	lo := stimuli.WhiteNoise(cfg.H, cfg.W, 8*lag, 0.2, max(cfg.H, cfg.W), false, 1101)
	hi2 := stimuli.WhiteNoise(cfg.H, cfg.W, 4*lag, 0.7, max(cfg.H, cfg.W), false, 1102)
	exp, err := stimuli.Concat(hi, lo, hi2)
	if err != nil {
		return err
	}
	if err := report("experiment 0.7→0.2→0.7", exp); err != nil {
		return err
	}
	for _, item := range splitList(list) {
		label, rec, err := loadLabelled("--contrast", item)
		if err != nil {
			return err
		}
		if err := report(label+" (train)", rec.Train.Stimulus); err != nil {
			return err
		}
	}
	return nil
}

func ceilingReport(list, preset string, simSeed uint64, windowList string) error {
	wins := []uint64{datasets.DefaultHistory}
	if windowList != "" {
		var err error
		if wins, err = parseInts(windowList); err != nil {
			return fmt.Errorf("--window: %w", err)
		}
	}
	truth, err := phenomena.NewSimResponder(preset, simSeed, 0, nil)
	if err != nil {
		return fmt.Errorf("--preset %s --sim-seed %d: %w", preset, simSeed, err)
	}
	// From rest, as the windowed truth runs each window (Windowed): in the simulator's own
	// units (no Norm) grey is 0, to which rest is adapted, and the battery's 5-s lead-in on
	// every window would cost 13 times the frames of a 40-frame window.
	truth.LeadIn = 0
	for _, item := range splitList(list) {
		label, rec, err := loadLabelled("--ceiling", item)
		if err != nil {
			return err
		}
		stim := rec.Test.Stimulus
		full, err := truth.Respond(stim)
		if err != nil {
			return fmt.Errorf("--ceiling %s: %w", label, err)
		}
		for _, w := range wins {
			win, err := Windowed{Inner: truth, Window: int(w)}.Respond(stim)
			if err != nil {
				return fmt.Errorf("--ceiling %s window %d: %w", label, w, err)
			}
			// Row t of win is frame t+w; compare with the truth's same frames.
			r := windowCorrelations(full, win, int(w))
			fmt.Printf("%s test (%d frames), window %d: r per cell %s (mean %.3f)\n", label, stim.T, w, fmtFloats(r), meanOf(r))
		}
	}
	return nil
}

// windowCorrelations is, per cell, Pearson's r between the truth's rates full [T, N] at frames
// w… and the windowed responder's rates win [T − w, N].
func windowCorrelations(full, win datasets.Matrix, w int) []float64 {
	out := make([]float64, full.Cols)
	for c := range out {
		a := make([]float32, win.Rows)
		b := make([]float32, win.Rows)
		for t := range win.Rows {
			a[t], b[t] = full.Data[(t+w)*full.Cols+c], win.Data[t*win.Cols+c]
		}
		r, err := metrics.Pearson(a, b)
		if err != nil {
			r = math.NaN()
		}
		out[c] = r
	}
	return out
}

func fmtFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " ")
}

func meanOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
