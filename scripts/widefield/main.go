// Command widefield measures why a CNN's single hidden units do not match the simulated
// retina's wide-field ON–OFF amacrines (issue 19; docs/probing.md, "Why the wide-field
// amacrines are not matched"). It prints, for each amacrine type of the simulator's
// interneuron file:
//
//	(a) how much stimulus-driven structure the potentials have on white noise, natural scenes
//	    and flashes (SD, SD/mean, lag-1 autocorrelation), from the circuit itself;
//	(b) held-out upper bounds of models of a known form, fitted on the probe's selection half
//	    and scored on its scoring half (same split, gap of the model's history):
//	    a linear filter of the model's 40-frame window (ridge), the truth's own rectified fast
//	    bipolar outputs pooled with fitted weights (lags 0–2, and lags 1–3: what the model's
//	    window, which ends one frame before the potential, can know), the same restricted to the
//	    15×15 pixels a layer-2 unit sees, and a subunit-energy model built from the stimulus
//	    alone (Gaussian subunits with a temporal filter fitted on one recorded fast bipolar,
//	    rectified ON and OFF, pooled with fitted weights: no contrast adaptation);
//	(c) a ridge readout from all units of each hidden layer of a trained run and of its
//	    untrained control — a more lenient measure than the probe's single-unit match;
//	(d) the share of each wide-field cell's pooling weight inside the input window of the
//	    layer-1 and layer-2 units nearest it.
//
// Every held-out number comes with the probe's circular-shift null (the target shifted by a
// quarter, half and three quarters of the series, the same fit and score; mean).
//
// Usage (about 5 min on 2 cores; run it under nice on a shared machine):
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
	"os"
	"path/filepath"
	"slices"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/analysis/probe"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
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
		if err := partC(run, recording, am, cs); err != nil {
			return err
		}
	}
	partD(ret, cs)
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
			if r := pearson(detrend(col(all, j, 0)), y); r > bestR {
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
				ac += pearson(x[1:], x[:len(x)-1])
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

	// Reconstruction: the truth's formula with its own weights, no fitting (a check that the
	// fitted models below use the right inputs).
	btyp := ret.BipolarTypes()
	var fastCols []int // ON-fast and OFF-fast columns of Response.Bipolar
	for i, t := range btyp {
		if t == "ON-fast" || t == "OFF-fast" {
			fastCols = append(fastCols, i)
		}
	}
	bout := func(t, c int) float64 {
		return rect(float64(resp.Bipolar.Data[t*resp.Bipolar.Cols+c]), par.BipolarThresh, par.RectSoftness)
	}

	// (i) linear filter of the model's window: frames t..t+39 for row t (potential at t+40).
	lin := make([][]float64, rows)
	n := cs.stim.FrameSize()
	for t := 0; t < rows; t++ {
		f := make([]float64, history*n)
		for i, v := range cs.stim.Data[t*n : (t+history)*n] {
			f[i] = float64(v)
		}
		lin[t] = f
	}
	if err := report("(i) linear filter of the 40-frame window (ridge)", lin, false, targets, labels, cs, sp); err != nil {
		return err
	}

	// (ii) truth's rectified fast bipolar outputs, every location, fitted weights.
	sub := func(lags []int, keep func(loc int) bool) [][]float64 {
		out := make([][]float64, rows)
		for t := 0; t < rows; t++ {
			var f []float64
			for _, c := range fastCols {
				if keep != nil && !keep(c/4) {
					continue
				}
				for _, l := range lags {
					f = append(f, bout(t+history-l, c))
				}
			}
			out[t] = f
		}
		return out
	}
	if err := report("(ii-a) truth's rectified fast bipolars, all locations, lags 0-2", sub([]int{0, 1, 2}, nil), false, targets, labels, cs, sp); err != nil {
		return err
	}
	if err := report("(ii-b) the same, lags 1-3 (the model's window ends 1 frame before)", sub([]int{1, 2, 3}, nil), false, targets, labels, cs, sp); err != nil {
		return err
	}

	// (ii-c) only the locations inside the 15×15 pixels of the layer-2 unit nearest each cell;
	// fitted per cell, so each cell gets its own feature set.
	centres := ret.BipolarCentres()
	acent := ret.AmacrineCentres()
	fmt.Println("  (ii-c) the same (lags 1-3), only subunits centred inside the 15×15-pixel input window of the layer-2 unit nearest the cell:")
	for _, typ := range typeNames(cs.types) {
		var rs, ns []float64
		for c, id := range cs.ids {
			if cs.types[c] != typ {
				continue
			}
			y0, x0 := windowOrigin(acent[id].Y, cfgH(ret), 15), windowOrigin(acent[id].X, cfgW(ret), 15)
			keep := func(loc int) bool {
				p := centres[4*loc]
				return p.Y >= float64(y0)-0.5 && p.Y <= float64(y0+14)+0.5 && p.X >= float64(x0)-0.5 && p.X <= float64(x0+14)+0.5
			}
			ts := [][]float64{col(cs.pot, c, history)}
			for _, s := range nullShifts(rows) {
				ts = append(ts, rotate(ts[0], s))
			}
			k := gram(sub([]int{1, 2, 3}, keep), sp, false)
			res, err := heldOutRidge(k, ts, sp)
			if err != nil {
				return err
			}
			rs = append(rs, res[0].R)
			ns = append(ns, (res[1].R+res[2].R+res[3].R)/3)
		}
		fmt.Printf("      %-22s %.3f (%.3f)\n", typ, mean(rs), mean(ns))
	}

	// (ii-d) subunit-energy model from the stimulus alone: subunit u_l = Gaussian (SubunitSigma)
	// pooling of the window's frames, one temporal filter fitted (ridge, selection half) on the
	// file's central ON-fast bipolar, v̂_l = filter * u_l, rectified ON and OFF with the
	// circuit's rectifier, pooled with fitted weights. No contrast adaptation.
	onFast := -1
	bcent := bipolarFileCentres(ret, bwn, btypes)
	for c, t := range btypes {
		if t == "ON-fast" && onFast < 0 {
			onFast = c
		}
	}
	if onFast < 0 {
		return fmt.Errorf("bipolar file: no ON-fast cell")
	}
	H, W := cfgH(ret), cfgW(ret)
	locs := make([]simretina.Point, 0, len(centres)/4)
	for i := 0; i < len(centres); i += 4 {
		locs = append(locs, centres[i])
	}
	pool := func(p simretina.Point) []float64 { return gaussianPixels(p, par.SubunitSigma, H, W) }
	// u[loc][frame]
	u := make([][]float64, len(locs))
	for l, p := range locs {
		g := pool(p)
		u[l] = make([]float64, T)
		for t := 0; t < T; t++ {
			fr := cs.stim.Data[t*n : (t+1)*n]
			s := 0.0
			for i, w := range g {
				if w != 0 {
					s += w * float64(fr[i])
				}
			}
			u[l][t] = s
		}
	}
	// Temporal filter: bipolar at frame t+40 from u at frames t..t+39 of its own location.
	bl := nearestLoc(locs, bcent[onFast])
	tf := make([][]float64, rows)
	for t := 0; t < rows; t++ {
		tf[t] = append([]float64(nil), u[bl][t:t+history]...)
	}
	yb := col(bwn.Potentials, onFast, history)
	filt, fr, err := ridgeWeights(tf, yb, sp)
	if err != nil {
		return err
	}
	fmt.Printf("  (ii-d) temporal filter fitted on the file's ON-fast bipolar %d: held-out r %.3f (its linear part)\n", onFast, fr)
	feat := make([][]float64, rows)
	for t := 0; t < rows; t++ {
		f := make([]float64, 0, 2*len(locs))
		for l := range locs {
			v := filt.intercept
			for k, w := range filt.w {
				v += w * u[l][t+k]
			}
			f = append(f, rect(v, par.BipolarThresh, par.RectSoftness), rect(-v, par.BipolarThresh, par.RectSoftness))
		}
		feat[t] = f
	}
	return report("(ii-d) stimulus → Gaussian subunits → rectified ON/OFF → fitted pool", feat, false, targets, labels, cs, sp)
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

func bipolarFileCentres(ret *simretina.Retina, g datasets.InterneuronGroup, types []string) []simretina.Point {
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
	_ = types
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
		fmt.Printf("      %-22s %.3f (%.3f)   cells %s\n", typ, mean(rs), mean(ns), fmtList(cellRs))
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

func mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// ---- (c) ridge readout from all units of a layer ----

func partC(run, recording string, am *datasets.InterneuronSet, cs cellSet) error {
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
	}{{"trained", model}, {"untrained", control}} {
		acts, err := m.model.Hidden(d.Stimulus, retina.HiddenOptions{PreNonlinearity: true})
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
