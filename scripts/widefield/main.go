// Command widefield measures why a CNN's single hidden units do not match the simulated
// retina's wide-field ON–OFF amacrines (issue 19; docs/probing.md, "Why the wide-field
// amacrines are not matched"). It prints, for each amacrine type of the simulator's
// interneuron file:
//
//	(a) how much stimulus-driven structure the potentials have on white noise, natural scenes
//	    and flashes (mean, SD, SD/mean, lag-1 autocorrelation), from the circuit itself;
//	(b) held-out upper bounds of models of a known form, fitted on the probe's selection half
//	    and scored on its scoring half (same split, gap of the model's history): the probe's
//	    linear filter (probe.FitCellLinear); the truth's own pooled fast bipolar outputs with
//	    only temporal weights fitted (lags 0–2; lags 1–3, what the model's window, which ends
//	    one frame before the potential, can know; only the subunits inside the nearest layer-2
//	    unit's 15×15 window) and with free pooling weights; and a subunit-energy model built
//	    from the stimulus alone (Gaussian subunits with a temporal filter fitted on one recorded
//	    fast bipolar, rectified ON and OFF, pooled with the circuit's Gaussian or with free
//	    weights; no contrast adaptation);
//	(c) ridge readouts from all units of each hidden layer of a trained run and of its
//	    untrained control, before and after the ReLU, and from each channel pooled with the
//	    wide-field Gaussian (48 weights) — more lenient measures than the probe's single unit —
//	    and, per first-layer channel, its match to a fast bipolar against its pooled energy's
//	    match to the wide-field cells;
//	(f) the probe's own single-unit score (probe.CompareInterneurons) on coarser binary checks
//	    and on natural scenes, with potentials computed by the rebuilt circuit;
//	(d) the share of each wide-field cell's pooling weight inside the input window of the
//	    layer-1 and layer-2 units nearest it;
//	(e) the share of each ganglion cell's rate variance (what the model is trained on) that
//	    the wide-field inhibition accounts for, on white noise and natural scenes.
//
// Every held-out number comes with the probe's circular-shift null (the target shifted by a
// quarter, half and three quarters of the series, the same fit and score; mean).
//
// Usage (about 8 min on 2 busy cores; run it under nice on a shared machine):
//
//	go run ./scripts/widefield --data /tmp/recipe5-out/data-base/sim-small \
//	    --run /tmp/recipe5-out/stacked-16x16-mix/runs/stacked-16x16-mix --recording ns
//
// The data folder holds `deepretina simulate --preset small --seed 1` output (amacrines_sim.h5,
// bipolars_sim.h5, naturalscene.h5); the circuit is rebuilt from the same preset and seed
// (--seed), and checked against the file. The untrained control is retina.NewModel with
// seed 1, as `deepretina probe`'s default --control-seed.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/analysis/probe"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/phenomena/measures"
	"github.com/deepretina/deepretina/retina"
)

const history = datasets.DefaultHistory

func main() {
	dataDir := flag.String("data", "", "folder of the simulator's files (amacrines_sim.h5, bipolars_sim.h5, naturalscene.h5)")
	run := flag.String("run", "", "trained run for (c) and (d); empty: skip")
	recording := flag.String("recording", "", "recording of a multi-recording run")
	seed := flag.Uint64("seed", 1, "the simulator seed the files were made with")
	flag.Parse()
	if err := mainErr(*dataDir, *run, *recording, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "widefield:", err)
		os.Exit(1)
	}
}

// cellSet is the amacrine file's white-noise group, with the circuit's indices of its cells.
type cellSet struct {
	stim  datasets.Movie  // [T, H, W]
	pot   datasets.Matrix // [T, n] as in the file (detrended)
	types []string
	ids   []int // circuit amacrine indices (from the provenance order: centralInterneurons)
}

func mainErr(dataDir, run, recording string, seed uint64) error {
	if dataDir == "" {
		return fmt.Errorf("--data: give the folder of the simulator's files")
	}
	cfg, err := simretina.Preset("small")
	if err != nil {
		return err
	}
	cfg.Seed = seed
	ret, err := simretina.New(cfg)
	if err != nil {
		return err
	}
	am, err := datasets.LoadInterneuronFile(filepath.Join(dataDir, "amacrines_sim.h5"))
	if err != nil {
		return err
	}
	bp, err := datasets.LoadInterneuronFile(filepath.Join(dataDir, "bipolars_sim.h5"))
	if err != nil {
		return err
	}
	wn, err := group(am, "whitenoise")
	if err != nil {
		return err
	}
	fl, err := group(am, "flashes")
	if err != nil {
		return err
	}
	bwn, err := group(bp, "whitenoise")
	if err != nil {
		return err
	}
	// The recorded amacrines are the 4 nearest the centre of each type (centralInterneurons);
	// find them by matching the circuit's response to the file's.
	resp := runWarm(ret, wn.Stimuli)
	ids, err := matchCells(resp.Amacrine, wn.Potentials)
	if err != nil {
		return err
	}
	cs := cellSet{stim: wn.Stimuli, pot: wn.Potentials, types: am.Types, ids: ids}
	fmt.Printf("amacrine file: %d cells, white noise %d frames; circuit indices %v\n", len(ids), wn.Stimuli.T, ids)

	partA(ret, cs, resp, fl.Stimuli, filepath.Join(dataDir, "naturalscene.h5"))
	if err := partB(ret, cs, resp, bwn, bp.Types); err != nil {
		return err
	}
	if run != "" {
		if err := partC(run, recording, ret, am, cs, onFastPotential(bp, bwn)); err != nil {
			return err
		}
		if err := partF(run, recording, ret, am.Types, cs, filepath.Join(dataDir, "naturalscene.h5")); err != nil {
			return err
		}
	}
	partD(ret, cs)
	return partE(cfg, resp.Rates.Rows, dataDir)
}

// ---- (e) what the training data ask of the wide-field signal ----

// partE measures how much the ganglion cells' rates (what the model is trained on) depend on
// the wide-field amacrines: the circuit is rebuilt without their inhibition (Inhibition and
// OMSInhibition 0; calibration redone) and run on the first T frames of each training
// stimulus; 1 − r² between the rates with and without is the share of each cell's rate
// variance that the wide-field inhibition accounts for.
func partE(cfg simretina.Config, T int, dataDir string) error {
	off := cfg
	off.Circuit.Inhibition, off.Circuit.OMSInhibition = 0, 0
	with, err := simretina.New(cfg)
	if err != nil {
		return err
	}
	without, err := simretina.New(off)
	if err != nil {
		return err
	}
	fmt.Println("\n(e) share of each ganglion cell's rate variance owed to the wide-field inhibition (1 − r² of rates with and without it), first", T, "training frames:")
	types := with.CellTypes()
	for _, stim := range []string{datasets.WhiteNoise, datasets.NaturalScene} {
		rec, err := datasets.LoadFile(filepath.Join(dataDir, stim+".h5"), stim, nil)
		if err != nil {
			return err
		}
		m := rec.Train.Stimulus.Slice(0, min(T, rec.Train.Stimulus.T))
		a, err := with.RunGanglion(m, nil)
		if err != nil {
			return err
		}
		b, err := without.RunGanglion(m, nil)
		if err != nil {
			return err
		}
		line := ""
		for c := 0; c < a.Rates.Cols; c++ {
			r := metrics.PearsonFloat64(col(a.Rates, c, history), col(b.Rates, c, history))
			line += fmt.Sprintf(" %s %.3f;", types[c], 1-r*r)
		}
		fmt.Printf("  %-13s%s\n", stim, line)
	}
	return nil
}

func group(set *datasets.InterneuronSet, name string) (datasets.InterneuronGroup, error) {
	for _, g := range set.Groups {
		if g.Name == name {
			return g, nil
		}
	}
	return datasets.InterneuronGroup{}, fmt.Errorf("%s file: no group %q", set.CellType, name)
}

// runWarm runs the circuit as the simulator records interneurons: 2 s of the movie's end first
// (not kept), so that the response starts in its steady state.
func runWarm(ret *simretina.Retina, m datasets.Movie) simretina.Response {
	warm := min(200, m.T)
	w := datasets.NewMovie(warm+m.T, m.H, m.W)
	n := m.FrameSize()
	copy(w.Data, m.Data[(m.T-warm)*n:])
	copy(w.Data[warm*n:], m.Data)
	resp, err := ret.Run(w, nil)
	if err != nil {
		panic(err) // the movie has the retina's frame by construction
	}
	cut := func(x datasets.Matrix) datasets.Matrix {
		return datasets.Matrix{Rows: m.T, Cols: x.Cols, Data: x.Data[warm*x.Cols:]}
	}
	return simretina.Response{Bipolar: cut(resp.Bipolar), Amacrine: cut(resp.Amacrine), Rates: cut(resp.Rates)}
}

// matchCells finds, for each column of file, the circuit column that correlates best with it
// (both linearly detrended, as the simulator stores its interneurons); it must be an exact
// reproduction (r > 0.999).
func matchCells(all, file datasets.Matrix) ([]int, error) {
	var ids []int
	worst := 1.0
	for c := 0; c < file.Cols; c++ {
		y := detrend(col(file, c, 0))
		best, bestR := -1, -2.0
		for j := 0; j < all.Cols; j++ {
			if r := metrics.PearsonFloat64(detrend(col(all, j, 0)), y); r > bestR {
				best, bestR = j, r
			}
		}
		if bestR < 0.999 {
			return nil, fmt.Errorf("file cell %d: the rebuilt circuit reproduces it only at r = %.4f (wrong --seed or preset?)", c, bestR)
		}
		worst = min(worst, bestR)
		ids = append(ids, best)
	}
	fmt.Printf("rebuilt circuit reproduces the file's %d cells at r ≥ %.5f\n", file.Cols, worst)
	return ids, nil
}

// detrend removes the least-squares line from x.
func detrend(x []float64) []float64 {
	n := float64(len(x))
	tm := (n - 1) / 2
	var s, sty, stt float64
	for t, v := range x {
		s += v
		sty += (float64(t) - tm) * v
		stt += (float64(t) - tm) * (float64(t) - tm)
	}
	m, b := s/n, sty/stt
	out := make([]float64, len(x))
	for t, v := range x {
		out[t] = v - m - b*(float64(t)-tm)
	}
	return out
}

func col(m datasets.Matrix, c, from int) []float64 {
	out := make([]float64, m.Rows-from)
	for t := range out {
		out[t] = float64(m.Data[(t+from)*m.Cols+c])
	}
	return out
}

func typeNames(types []string) []string {
	var out []string
	for _, t := range types {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// ---- (a) structure of the potentials ----

func partA(ret *simretina.Retina, cs cellSet, wnResp simretina.Response, flashes datasets.Movie, nsPath string) {
	fmt.Println("\n(a) potentials of the recorded amacrines (rebuilt circuit, not detrended): mean over cells of each type")
	stims := []struct {
		name string
		resp simretina.Response
	}{{"whitenoise (file's)", wnResp}, {"flashes", runWarm(ret, flashes)}}
	if rec, err := datasets.LoadFile(nsPath, datasets.NaturalScene, nil); err == nil {
		stims = append(stims, struct {
			name string
			resp simretina.Response
		}{"naturalscene (train 0–20 s)", runWarm(ret, rec.Train.Stimulus.Slice(0, cs.stim.T))})
	} else {
		fmt.Println("  natural scenes skipped:", err)
	}
	fmt.Printf("  %-28s %-20s %8s %8s %8s %8s\n", "stimulus", "type", "mean", "SD", "SD/mean", "lag-1 r")
	for _, s := range stims {
		for _, typ := range typeNames(cs.types) {
			var mean, sd, ac float64
			n := 0
			for c, id := range cs.ids {
				if cs.types[c] != typ {
					continue
				}
				x := col(s.resp.Amacrine, id, history)
				m, v := meanVar(x)
				mean += m
				sd += math.Sqrt(v)
				ac += metrics.PearsonFloat64(x[1:], x[:len(x)-1])
				n++
			}
			k := float64(n)
			fmt.Printf("  %-28s %-20s %8.4f %8.4f %8.3f %8.3f\n", s.name, typ, mean/k, sd/k, sd/mean, ac/k)
		}
	}
}

func meanVar(x []float64) (float64, float64) {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return m, s / float64(len(x))
}

// ---- (b) upper bounds of models of known form ----

// rect is the circuit's synaptic rectifier with θ = BipolarThresh, ε = RectSoftness.
func rect(v, theta, eps float64) float64 {
	d := v - theta
	return 0.5 * (d + math.Sqrt(d*d+eps*eps))
}

func partB(ret *simretina.Retina, cs cellSet, resp simretina.Response, bwn datasets.InterneuronGroup, btypes []string) error {
	par := ret.Circuit()
	T := cs.stim.T
	rows := T - history
	sp := probeSplit(rows, history)
	targets, labels := targetsWithNulls(cs)
	fmt.Printf("\n(b) held-out r of models of known form (fit on rows [0,%d), scored on [%d,%d) of %d; null in brackets)\n",
		sp.a, sp.a+sp.gap, sp.rows, rows)

	// (i) the probe's own linearity measure (probe.FitCellLinear: rank-1 filter in a disc chosen
	// by cross-validation, fitted on the first half, tested on the second), null: the same on
	// the circularly shifted potential.
	fmt.Println("  (i) linear filter of the stimulus (probe.FitCellLinear, the probe's linearity measure):")
	linR := make([]ridgeResult, len(targets))
	for i, y := range targets {
		pot := datasets.NewMatrix(rows, 1)
		for t, v := range y {
			pot.Data[t] = float32(v)
		}
		d := probe.InterneuronData{Source: "amacrines_sim.h5", Group: "whitenoise", Stimulus: cs.stim, Potentials: pot}
		fit, err := probe.FitCellLinear(d, 0, history)
		if err != nil {
			return err
		}
		linR[i] = ridgeResult{R: fit.R}
	}
	printByType(linR, labels, cs.types)

	// The rest concerns the wide-field cells only.
	var wfT [][]float64
	var wfL []int
	for i, c := range labels {
		cc := c
		if cc < 0 {
			cc = -1 - cc
		}
		if cs.types[cc] == simretina.WideFieldAmacrine {
			wfT, wfL = append(wfT, targets[i]), append(wfL, c)
		}
	}
	btyp := ret.BipolarTypes()
	var fastCols []int // ON-fast and OFF-fast columns of Response.Bipolar
	for i, t := range btyp {
		if t == "ON-fast" || t == "OFF-fast" {
			fastCols = append(fastCols, i)
		}
	}
	bout := func(f, c int) float64 {
		return rect(float64(resp.Bipolar.Data[f*resp.Bipolar.Cols+c]), par.BipolarThresh, par.RectSoftness)
	}
	centres := ret.BipolarCentres()
	acent := ret.AmacrineCentres()
	H, W := cfgH(ret), cfgW(ret)
	locs := make([]simretina.Point, 0, len(centres)/4)
	for i := 0; i < len(centres); i += 4 {
		locs = append(locs, centres[i])
	}

	// (ii-a–c) the truth's own pooled signal P_j(f) = Σ_l w_jl ½(b_ON-fast,l + b_OFF-fast,l)(f)
	// with the circuit's Gaussian weights (AmacrineSigma), and only a temporal filter over a
	// few lags fitted: the form of the cell with 3–5 free weights.
	pooled := func(id int, inWindow bool) []float64 {
		w := gaussianPoints(locs, acent[id], par.AmacrineSigma)
		if inWindow {
			y0, x0 := windowOrigin(acent[id].Y, H, 15), windowOrigin(acent[id].X, W, 15)
			tot := 0.0
			for l, p := range locs {
				if p.Y < float64(y0)-0.5 || p.Y > float64(y0+14)+0.5 || p.X < float64(x0)-0.5 || p.X > float64(x0+14)+0.5 {
					w[l] = 0
				}
				tot += w[l]
			}
			for l := range w {
				w[l] /= tot
			}
		}
		out := make([]float64, T)
		for f := 0; f < T; f++ {
			for l, wl := range w {
				if wl != 0 {
					out[f] += wl * 0.5 * (bout(f, 4*l) + bout(f, 4*l+1))
				}
			}
		}
		return out
	}
	lagged := func(x []float64, lags []int) [][]float64 {
		out := make([][]float64, rows)
		for t := 0; t < rows; t++ {
			f := make([]float64, len(lags))
			for i, l := range lags {
				f[i] = x[t+history-l]
			}
			out[t] = f
		}
		return out
	}
	perCell := func(name string, feat func(c, id int) [][]float64) error {
		var rs, ns []float64
		for c, id := range cs.ids {
			if cs.types[c] != simretina.WideFieldAmacrine {
				continue
			}
			ts := [][]float64{col(cs.pot, c, history)}
			for _, s := range nullShifts(rows) {
				ts = append(ts, rotate(ts[0], s))
			}
			res, err := heldOutRidge(gram(feat(c, id), sp, false), ts, sp)
			if err != nil {
				return err
			}
			rs = append(rs, res[0].R)
			ns = append(ns, (res[1].R+res[2].R+res[3].R)/3)
		}
		fmt.Printf("  %s:\n      %-22s %.3f (%.3f)   cells %s\n", name, simretina.WideFieldAmacrine, measures.Mean(rs), measures.Mean(ns), fmtList(rs))
		return nil
	}
	for _, v := range []struct {
		name     string
		lags     []int
		inWindow bool
	}{
		{"(ii-a) truth's pooled fast bipolar outputs (its own weights), lags 0-2 fitted", []int{0, 1, 2}, false},
		{"(ii-b) the same, lags 1-3 (the model's window ends one frame before the potential)", []int{1, 2, 3}, false},
		{"(ii-b') the same, lags 1-6", []int{1, 2, 3, 4, 5, 6}, false},
		{"(ii-c) the same as (ii-a), only subunits inside the nearest layer-2 unit's 15×15 window", []int{0, 1, 2}, true},
	} {
		if err := perCell(v.name, func(c, id int) [][]float64 { return lagged(pooled(id, v.inWindow), v.lags) }); err != nil {
			return err
		}
	}

	// (ii-d) the same with 338 free pooling weights (every location's ON and OFF output, lag 0):
	// how much fitting the pool itself costs with 960 samples.
	free := make([][]float64, rows)
	for t := 0; t < rows; t++ {
		f := make([]float64, 0, len(fastCols))
		for _, c := range fastCols {
			f = append(f, bout(t+history, c))
		}
		free[t] = f
	}
	if err := report("(ii-d) truth's rectified fast bipolar outputs, every location, free pooling weights, lag 0", free, false, wfT, wfL, cs, sp); err != nil {
		return err
	}

	// (ii-e) subunit-energy model from the stimulus alone: subunit u_l = Gaussian (SubunitSigma)
	// pooling of each frame, one temporal filter fitted (ridge, selection half) on the file's
	// central ON-fast bipolar, v̂_l = filter * u_l, rectified ON and OFF with the circuit's
	// rectifier, pooled with the circuit's wide Gaussian or with free weights. No contrast
	// adaptation. The filter reads the model's window (frames t..t+39 for row t) or the window
	// one frame later (t+1..t+40: including the frame of the potential).
	bcent := bipolarFileCentres(ret, bwn)
	onFast := slices.Index(btypes, "ON-fast")
	if onFast < 0 {
		return fmt.Errorf("bipolar file: no ON-fast cell")
	}
	n := cs.stim.FrameSize()
	u := make([][]float64, len(locs)) // u[loc][frame]
	for l, p := range locs {
		g := gaussianPixels(p, par.SubunitSigma, H, W)
		u[l] = make([]float64, T)
		for f := 0; f < T; f++ {
			fr := cs.stim.Data[f*n : (f+1)*n]
			for i, w := range g {
				if w != 0 {
					u[l][f] += w * float64(fr[i])
				}
			}
		}
	}
	bl := nearestLoc(locs, bcent[onFast])
	yb := col(bwn.Potentials, onFast, history)
	for _, off := range []int{0, 1} {
		tf := make([][]float64, rows)
		for t := 0; t < rows; t++ {
			tf[t] = append([]float64(nil), u[bl][t+off:t+off+history]...)
		}
		filt, fr, err := ridgeWeights(tf, yb, sp)
		if err != nil {
			return err
		}
		// out[f−history] for f = history..T−1: rectified ON and OFF subunit outputs.
		on := make([][]float64, len(locs))
		offv := make([][]float64, len(locs))
		for l := range locs {
			on[l], offv[l] = make([]float64, rows), make([]float64, rows)
			for t := 0; t < rows; t++ {
				v := filt.intercept
				for k, w := range filt.w {
					v += w * u[l][t+off+k]
				}
				on[l][t], offv[l][t] = rect(v, par.BipolarThresh, par.RectSoftness), rect(-v, par.BipolarThresh, par.RectSoftness)
			}
		}
		win := "frames t..t+39 (the model's window)"
		if off == 1 {
			win = "frames t+1..t+40 (including the potential's frame)"
		}
		fmt.Printf("  (ii-e) stimulus subunits, %s; temporal filter fitted on the file's ON-fast bipolar %d: held-out r %.3f\n", win, onFast, fr)
		if err := perCell("    pooled with the circuit's Gaussian (AmacrineSigma), lags 0-2 fitted", func(c, id int) [][]float64 {
			w := gaussianPoints(locs, acent[id], par.AmacrineSigma)
			x := make([]float64, rows)
			for t := range x {
				for l, wl := range w {
					x[t] += wl * 0.5 * (on[l][t] + offv[l][t])
				}
			}
			out := make([][]float64, rows)
			for t := range out {
				out[t] = []float64{x[t], x[max(t-1, 0)], x[max(t-2, 0)]}
			}
			return out
		}); err != nil {
			return err
		}
		feat := make([][]float64, rows)
		for t := range feat {
			f := make([]float64, 0, 2*len(locs))
			for l := range locs {
				f = append(f, on[l][t], offv[l][t])
			}
			feat[t] = f
		}
		if err := report("    free pooling weights", feat, false, wfT, wfL, cs, sp); err != nil {
			return err
		}
	}
	return nil
}

// gaussianPoints mirrors simretina's pooling of subunit locations (gaussianPoints in
// circuit.go): weights over the points within 2.5σ of c, normalised to sum 1; dense over pts.
func gaussianPoints(pts []simretina.Point, c simretina.Point, sigma float64) []float64 {
	out := make([]float64, len(pts))
	tot := 0.0
	for i, p := range pts {
		d2 := (p.Y-c.Y)*(p.Y-c.Y) + (p.X-c.X)*(p.X-c.X)
		if d2 > 6.25*sigma*sigma {
			continue
		}
		out[i] = math.Exp(-d2 / (2 * sigma * sigma))
		tot += out[i]
	}
	for i := range out {
		out[i] /= tot
	}
	return out
}

func cfgH(r *simretina.Retina) int { return r.Config().H }
func cfgW(r *simretina.Retina) int { return r.Config().W }

// windowOrigin is the first pixel of the size-wide input window, among those of a
// valid-convolution layer of units on an n-pixel frame (origins 0..n−size), whose centre is
// nearest c.
func windowOrigin(c float64, n, size int) int {
	o := int(math.Round(c - float64(size-1)/2))
	return max(0, min(n-size, o))
}

func bipolarFileCentres(ret *simretina.Retina, g datasets.InterneuronGroup) []simretina.Point {
	// The file's bipolars are the 4 types at the 4 locations nearest the centre; rebuild them
	// by matching the circuit's columns, as for the amacrines.
	resp := runWarm(ret, g.Stimuli)
	ids, err := matchCells(resp.Bipolar, g.Potentials)
	if err != nil {
		panic(err)
	}
	c := ret.BipolarCentres()
	out := make([]simretina.Point, len(ids))
	for i, id := range ids {
		out[i] = c[id]
	}
	return out
}

func nearestLoc(locs []simretina.Point, p simretina.Point) int {
	best, bd := 0, math.Inf(1)
	for i, q := range locs {
		if d := (q.Y-p.Y)*(q.Y-p.Y) + (q.X-p.X)*(q.X-p.X); d < bd {
			best, bd = i, d
		}
	}
	return best
}

// gaussianPixels mirrors simretina's subunit pooling (gaussianPixels in circuit.go): weights
// within 2.5σ of c, normalised over the untruncated kernel; returns a dense [H·W] map.
func gaussianPixels(c simretina.Point, sigma float64, h, w int) []float64 {
	rad := 2.5 * sigma
	out := make([]float64, h*w)
	total := 0.0
	for y := int(math.Floor(c.Y - rad)); y <= int(math.Ceil(c.Y+rad)); y++ {
		for x := int(math.Floor(c.X - rad)); x <= int(math.Ceil(c.X+rad)); x++ {
			d2 := (float64(y)-c.Y)*(float64(y)-c.Y) + (float64(x)-c.X)*(float64(x)-c.X)
			if d2 > rad*rad {
				continue
			}
			g := math.Exp(-d2 / (2 * sigma * sigma))
			total += g
			if y >= 0 && y < h && x >= 0 && x < w {
				out[y*w+x] = g
			}
		}
	}
	for i := range out {
		out[i] /= total
	}
	return out
}

type linFilter struct {
	w         []float64
	intercept float64
}

// ridgeWeights fits primal ridge weights (few features) on the selection part, λ by blocked CV
// there via the dual solver, and returns them with the held-out r.
func ridgeWeights(x [][]float64, y []float64, sp split) (linFilter, float64, error) {
	k := gram(x, sp, false)
	res, err := heldOutRidge(k, [][]float64{y}, sp)
	if err != nil {
		return linFilter{}, 0, err
	}
	// Primal refit with the chosen λ: (XᵀX + λ·scale·I) w = Xᵀ y on the centred selection rows.
	p := len(x[0])
	mx := make([]float64, p)
	my := 0.0
	for t := 0; t < sp.a; t++ {
		for j := range mx {
			mx[j] += x[t][j]
		}
		my += y[t]
	}
	for j := range mx {
		mx[j] /= float64(sp.a)
	}
	my /= float64(sp.a)
	scale := 0.0
	for t := 0; t < sp.a; t++ {
		scale += k.At(t, t)
	}
	scale /= float64(sp.a)
	a := make([][]float64, p)
	b := make([]float64, p)
	for i := range a {
		a[i] = make([]float64, p)
	}
	for t := 0; t < sp.a; t++ {
		for i := 0; i < p; i++ {
			di := x[t][i] - mx[i]
			b[i] += di * (y[t] - my)
			for j := 0; j < p; j++ {
				a[i][j] += di * (x[t][j] - mx[j])
			}
		}
	}
	for i := range a {
		a[i][i] += res[0].Lambda * scale
	}
	w := solve(a, b)
	ic := my
	for j := range w {
		ic -= w[j] * mx[j]
	}
	return linFilter{w: w, intercept: ic}, res[0].R, nil
}

// solve solves a w = b by Gaussian elimination with partial pivoting (a small, well-posed
// ridge system).
func solve(a [][]float64, b []float64) []float64 {
	n := len(b)
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k < n; k++ {
				a[r][k] -= f * a[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	w := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * w[k]
		}
		w[r] = s / a[r][r]
	}
	return w
}

// targetsWithNulls returns each cell's potential (rows after the history) followed by its
// three circularly shifted copies.
func targetsWithNulls(cs cellSet) ([][]float64, []int) {
	var ts [][]float64
	var cell []int
	rows := cs.pot.Rows - history
	for c := 0; c < cs.pot.Cols; c++ {
		y := col(cs.pot, c, history)
		ts = append(ts, y)
		cell = append(cell, c)
		for _, s := range nullShifts(rows) {
			ts = append(ts, rotate(y, s))
			cell = append(cell, -1-c)
		}
	}
	return ts, cell
}

// report fits every target on the features and prints the mean held-out r per type, with the
// mean of the nulls.
func report(name string, feat [][]float64, scale bool, targets [][]float64, cell []int, cs cellSet, sp split) error {
	k := gram(feat, sp, scale)
	res, err := heldOutRidge(k, targets, sp)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Printf("  %s (%d features):\n", name, len(feat[0]))
	printByType(res, cell, cs.types)
	return nil
}

func printByType(res []ridgeResult, cell []int, types []string) {
	for _, typ := range typeNames(types) {
		var rs, ns, cellRs []float64
		for i, c := range cell {
			switch {
			case c >= 0 && types[c] == typ:
				rs = append(rs, res[i].R)
				cellRs = append(cellRs, res[i].R)
			case c < 0 && types[-1-c] == typ:
				ns = append(ns, res[i].R)
			}
		}
		if len(rs) == 0 {
			continue
		}
		fmt.Printf("      %-22s %.3f (%.3f)   cells %s\n", typ, measures.Mean(rs), measures.Mean(ns), fmtList(cellRs))
	}
}

func fmtList(x []float64) string {
	s := ""
	for i, v := range x {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.2f", v)
	}
	return s
}

// ---- (c) ridge readout from all units of a layer ----

func partC(run, recording string, ret *simretina.Retina, am *datasets.InterneuronSet, cs cellSet, onFast []float64) error {
	model, err := retina.LoadModel(run, retina.LoadOptions{Recording: recording})
	if err != nil {
		return err
	}
	control, err := retina.NewModel(model.Meta.Model, model.Meta.NormStats, 1, retina.LoadOptions{Backend: model.Backend()})
	if err != nil {
		return err
	}
	in := analysis.InputOf(model)
	data, err := probe.PrepareInterneurons(am, "amacrines_sim.h5", in, probe.InterneuronOptions{Groups: []string{"whitenoise"}})
	if err != nil {
		return err
	}
	d := data[0]
	rows := d.Potentials.Rows
	sp := probeSplit(rows, in.History)
	targets, cell := targetsWithNulls(cs)
	fmt.Printf("\n(c) ridge readout from ALL units of one layer (pre-ReLU, z-scored; a more lenient measure than the probe's single unit), held out (null):\n")
	for _, m := range []struct {
		name  string
		model *retina.Model
		pre   bool
	}{{"trained", model, true}, {"trained, after the ReLU:", model, false}, {"untrained", control, true}, {"untrained, after the ReLU:", control, false}} {
		acts, err := m.model.Hidden(d.Stimulus, retina.HiddenOptions{PreNonlinearity: m.pre})
		if err != nil {
			return err
		}
		for _, a := range acts {
			U := a.Shape[1] * a.Shape[2] * a.Shape[3]
			feat := make([][]float64, a.Shape[0])
			for t := range feat {
				f := make([]float64, U)
				for i, v := range a.Data[t*U : (t+1)*U] {
					f[i] = float64(v)
				}
				feat[t] = f
			}
			k := gram(feat, sp, true)
			res, err := heldOutRidge(k, targets, sp)
			if err != nil {
				return err
			}
			fmt.Printf("  %s %s (%d units):\n", m.name, a.Layer, U)
			printByType(res, cell, cs.types)
			transforms := []string{"as read"}
			if m.pre {
				transforms = append(transforms, "|pre-ReLU|")
			}
			for _, tr := range transforms {
				if err := pooledReadout(a, in, tr, ret, cs, sp); err != nil {
					return err
				}
			}
			if m.pre && a.Layer == acts[0].Layer {
				channelEnergy(a, in, ret, cs, sp, onFast)
			}
		}
	}
	return nil
}

// onFastPotential is the file's first ON-fast bipolar (rows after the history).
func onFastPotential(bp *datasets.InterneuronSet, g datasets.InterneuronGroup) []float64 {
	c := slices.Index(bp.Types, "ON-fast")
	if c < 0 {
		return nil
	}
	return col(g.Potentials, c, history)
}

// channelEnergy relates, channel by channel of the first layer (pre-ReLU), how well the
// channel's linear filter matches a fast bipolar subunit (ρ: held-out |r| of the channel's best
// unit with the file's ON-fast bipolar, chosen on the selection half) to how well its rectified
// energy, pooled with the wide-field Gaussian, follows the wide-field cells (|r| on the scoring
// half, no fitting but the sign). For Gaussian inputs corr(|x|, |y|) is a steep function of
// corr(x, y) (about ρ² and below), so an energy cell is matched only as well as the square of
// its subunits.
func channelEnergy(a retina.Activations, in analysis.Input, ret *simretina.Retina, cs cellSet, sp split, onFast []float64) {
	if onFast == nil {
		return
	}
	C, h, w := a.Shape[1], a.Shape[2], a.Shape[3]
	rows := a.Shape[0]
	oy, ox := float64(in.H-h)/2, float64(in.W-w)/2
	sigma := ret.Circuit().AmacrineSigma
	acent := ret.AmacrineCentres()
	sel, score := rangeRows(0, sp.a), rangeRows(sp.a+sp.gap, sp.rows)
	fmt.Println("      per channel: ρ = held-out |r| of its best unit with the ON-fast bipolar; E = |r| of its |activity| pooled over the wide Gaussian with the wide-field cells (scoring half, mean of 4 cells):")
	var xs, ys []float64
	line := "       "
	for ch := 0; ch < C; ch++ {
		best, bestSel := 0.0, -1.0
		for i := 0; i < h*w; i++ {
			x := make([]float64, rows)
			for t := range x {
				x[t] = float64(a.Data[(t*C+ch)*h*w+i])
			}
			if r := math.Abs(metrics.PearsonFloat64(pick(x, sel), pick(onFast, sel))); r > bestSel {
				bestSel, best = r, math.Abs(metrics.PearsonFloat64(pick(x, score), pick(onFast, score)))
			}
		}
		e := 0.0
		n := 0
		for c, id := range cs.ids {
			if cs.types[c] != simretina.WideFieldAmacrine {
				continue
			}
			x := make([]float64, rows)
			for t := range x {
				for y := 0; y < h; y++ {
					for xx := 0; xx < w; xx++ {
						dy, dx := float64(y)+oy-acent[id].Y, float64(xx)+ox-acent[id].X
						x[t] += math.Exp(-(dy*dy+dx*dx)/(2*sigma*sigma)) * math.Abs(float64(a.Data[(t*C+ch)*h*w+y*w+xx]))
					}
				}
			}
			e += math.Abs(metrics.PearsonFloat64(pick(x, score), pick(col(cs.pot, c, history), score)))
			n++
		}
		e /= float64(n)
		xs, ys = append(xs, best), append(ys, e)
		line += fmt.Sprintf(" %d: ρ %.2f E %.2f;", ch, best, e)
		if ch%4 == 3 {
			fmt.Println(line)
			line = "       "
		}
	}
	sq := make([]float64, len(xs))
	for i, x := range xs {
		sq[i] = x * x
	}
	fmt.Printf("      across channels: r(ρ, E) %.2f, r(ρ², E) %.2f\n", metrics.PearsonFloat64(xs, ys), metrics.PearsonFloat64(sq, ys))
}

// pooledReadout is a readout of the wide-field cells with few free weights: each channel of the
// layer pooled with the circuit's wide-field Gaussian (AmacrineSigma, centred on the cell; the
// units' centres are taken as the centres of their valid-convolution windows), at lags 0–2 of
// the model's windows, and only the 3·C weights fitted (ridge, selection half). transform
// "|pre-ReLU|" pools the absolute values, i.e. both rectified halves of each channel's linear
// filter: what the layer's filters would give as ON and OFF subunits.
func pooledReadout(a retina.Activations, in analysis.Input, transform string, ret *simretina.Retina, cs cellSet, sp split) error {
	C, h, w := a.Shape[1], a.Shape[2], a.Shape[3]
	oy, ox := float64(in.H-h)/2, float64(in.W-w)/2
	sigma := ret.Circuit().AmacrineSigma
	acent := ret.AmacrineCentres()
	var rs, ns []float64
	for c, id := range cs.ids {
		if cs.types[c] != simretina.WideFieldAmacrine {
			continue
		}
		g := make([]float64, h*w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				dy, dx := float64(y)+oy-acent[id].Y, float64(x)+ox-acent[id].X
				g[y*w+x] = math.Exp(-(dy*dy + dx*dx) / (2 * sigma * sigma))
			}
		}
		rows := a.Shape[0]
		pooled := make([][]float64, rows) // [t][channel]
		for t := range pooled {
			pooled[t] = make([]float64, C)
			for ch := 0; ch < C; ch++ {
				base := (t*C + ch) * h * w
				for i, gi := range g {
					v := float64(a.Data[base+i])
					if transform == "|pre-ReLU|" {
						v = math.Abs(v)
					}
					pooled[t][ch] += gi * v
				}
			}
		}
		feat := make([][]float64, rows)
		for t := range feat {
			for _, l := range []int{0, 1, 2} {
				feat[t] = append(feat[t], pooled[max(t-l, 0)]...)
			}
		}
		ts := [][]float64{col(cs.pot, c, history)}
		for _, s := range nullShifts(rows) {
			ts = append(ts, rotate(ts[0], s))
		}
		res, err := heldOutRidge(gram(feat, sp, true), ts, sp)
		if err != nil {
			return err
		}
		rs = append(rs, res[0].R)
		ns = append(ns, (res[1].R+res[2].R+res[3].R)/3)
	}
	fmt.Printf("      each channel %s pooled with the wide-field Gaussian, lags 0-2 (%d weights): %s %.3f (%.3f)   cells %s\n",
		transform, 3*C, simretina.WideFieldAmacrine, measures.Mean(rs), measures.Mean(ns), fmtList(rs))
	return nil
}

// ---- (f) the probe's own single-unit score on other stimuli ----

// partF scores the amacrines exactly as `deepretina probe` does (probe.CompareInterneurons:
// best unit chosen on the first half, scored on the second, circular-shift null, stimulus
// shifts up to 1 px) on stimuli other than the file's 1-px white noise: binary checkerboards
// with coarser checks (new every frame, ±1, PCG seed 7) and a natural-scene segment, each
// 2000 frames, with the potentials computed by the rebuilt circuit (2 s warm-up, detrended
// like the simulator's files). The trained model and the untrained control (seed 1).
func partF(run, recording string, ret *simretina.Retina, types []string, cs cellSet, nsPath string) error {
	model, err := retina.LoadModel(run, retina.LoadOptions{Recording: recording})
	if err != nil {
		return err
	}
	control, err := retina.NewModel(model.Meta.Model, model.Meta.NormStats, 1, retina.LoadOptions{Backend: model.Backend()})
	if err != nil {
		return err
	}
	T, H, W := cs.stim.T, cs.stim.H, cs.stim.W
	type stim struct {
		name string
		m    datasets.Movie
	}
	stims := []stim{{"white noise 1 px (the file's)", cs.stim}}
	rng := rand.New(rand.NewPCG(7, 0))
	for _, check := range []int{2, 4} {
		m := datasets.NewMovie(T, H, W)
		for f := 0; f < T; f++ {
			fr := m.Frame(f)
			for by := 0; by < H; by += check {
				for bx := 0; bx < W; bx += check {
					v := float32(1)
					if rng.IntN(2) == 0 {
						v = -1
					}
					for y := by; y < min(by+check, H); y++ {
						for x := bx; x < min(bx+check, W); x++ {
							fr[y*W+x] = v
						}
					}
				}
			}
		}
		stims = append(stims, stim{fmt.Sprintf("binary checks %d px", check), m})
	}
	if rec, err := datasets.LoadFile(nsPath, datasets.NaturalScene, nil); err == nil {
		from := rec.Train.Stimulus.T / 2
		stims = append(stims, stim{"natural scenes (train, from the middle)", rec.Train.Stimulus.Slice(from, from+T)})
	}
	fmt.Println("\n(f) the probe's single-unit held-out r (null) on other stimuli, amacrines by subtype: trained / untrained")
	for _, st := range stims {
		resp := runWarm(ret, st.m)
		pot := datasets.NewMatrix(T-history, len(cs.ids))
		for c, id := range cs.ids {
			x := detrend(col(resp.Amacrine, id, 0))
			for t := history; t < T; t++ {
				pot.Set(t-history, c, float32(x[t]))
			}
		}
		d := []probe.InterneuronData{{Source: "amacrines", CellType: "amacrine", Group: st.name, Stimulus: st.m, Potentials: pot, Subtypes: types}}
		var res [2]*probe.InterneuronComparison
		for i, m := range []*retina.Model{model, control} {
			if res[i], err = probe.CompareInterneurons(analysis.ModelUnits(m), d, probe.CompareOptions{MaxShift: 1}); err != nil {
				return err
			}
		}
		fmt.Printf("  %s:\n", st.name)
		for _, typ := range typeNames(types) {
			k := "amacrine " + typ
			a, b := res[0].BySubtype[k], res[1].BySubtype[k]
			fmt.Printf("      %-22s %.3f (%.3f) / %.3f (%.3f)\n", typ, a.HeldOut, a.Null, b.HeldOut, b.Null)
		}
	}
	return nil
}

// ---- (d) spatial extent ----

func partD(ret *simretina.Retina, cs cellSet) {
	par := ret.Circuit()
	H, W := cfgH(ret), cfgW(ret)
	centres := ret.BipolarCentres()
	acent := ret.AmacrineCentres()
	fmt.Printf("\n(d) share of each recorded wide-field amacrine's pixel weight (Gaussian σ %.1f px over subunits of σ %.1f px) inside the input window of the nearest unit:\n",
		par.AmacrineSigma, par.SubunitSigma)
	for c, id := range cs.ids {
		if cs.types[c] != simretina.WideFieldAmacrine {
			continue
		}
		// Pixel weight: Σ_l w_jl g_l(p), w_jl Gaussian over subunit locations within 2.5σ.
		pix := make([]float64, H*W)
		tot := 0.0
		for i := 0; i < len(centres); i += 4 {
			p := centres[i]
			d2 := (p.Y-acent[id].Y)*(p.Y-acent[id].Y) + (p.X-acent[id].X)*(p.X-acent[id].X)
			if d2 > 6.25*par.AmacrineSigma*par.AmacrineSigma {
				continue
			}
			w := math.Exp(-d2 / (2 * par.AmacrineSigma * par.AmacrineSigma))
			for k, g := range gaussianPixels(p, par.SubunitSigma, H, W) {
				pix[k] += w * g
			}
		}
		for _, v := range pix {
			tot += v
		}
		share := func(size int) float64 {
			y0, x0 := windowOrigin(acent[id].Y, H, size), windowOrigin(acent[id].X, W, size)
			s := 0.0
			for y := y0; y < y0+size; y++ {
				for x := x0; x < x0+size; x++ {
					s += pix[y*W+x]
				}
			}
			return s / tot
		}
		// Radius holding 90 % of the weight around the cell's centre.
		r90 := 0.0
		for r := 0.5; r < 20; r += 0.5 {
			s := 0.0
			for y := 0; y < H; y++ {
				for x := 0; x < W; x++ {
					if (float64(y)-acent[id].Y)*(float64(y)-acent[id].Y)+(float64(x)-acent[id].X)*(float64(x)-acent[id].X) <= r*r {
						s += pix[y*W+x]
					}
				}
			}
			if s/tot >= 0.9 {
				r90 = r
				break
			}
		}
		fmt.Printf("  cell %d at (%.1f,%.1f): 9×9 (layer 1) %.3f, 15×15 (layer 2) %.3f; 90 %% of the weight within %.1f px\n",
			c, acent[id].Y, acent[id].X, share(9), share(15), r90)
	}
}
