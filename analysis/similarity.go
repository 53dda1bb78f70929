package analysis

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
)

// CorrelationMatrix is the Pearson r of every series of a with every series of b (all of the
// same length T): [len(a)][len(b)]. Constant series (the reference's rule, see quiet) score 0.
func CorrelationMatrix(a, b [][]float32) ([][]float64, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("correlation matrix: %d × %d series", len(a), len(b))
	}
	T := len(a[0])
	targets := make([][]float64, len(b))
	for j, s := range b {
		if len(s) != T {
			return nil, fmt.Errorf("correlation matrix: series of %d and %d samples", T, len(s))
		}
		if z, ok := Standardize(s); ok {
			targets[j] = z
		}
	}
	rows := make([]float32, T*len(a)) // [T, len(a)]
	for i, s := range a {
		if len(s) != T {
			return nil, fmt.Errorf("correlation matrix: series of %d and %d samples", T, len(s))
		}
		for t, v := range s {
			rows[t*len(a)+i] = v
		}
	}
	flatR := correlateRows(rows, T, len(a), targets)
	out := make([][]float64, len(a))
	for i := range out {
		out[i] = flatR[i*len(b) : (i+1)*len(b)]
	}
	return out, nil
}

// Match pairs series A of one set with series B of another, with their correlation R.
type Match struct {
	A, B int
	R    float64
}

// MatchHungarian is the one-to-one matching of rows to columns of r ([n][m]) that maximises the
// total correlation (the Hungarian algorithm, O(n²m)); min(n, m) pairs, sorted by A.
func MatchHungarian(r [][]float64) []Match {
	n := len(r)
	if n == 0 || len(r[0]) == 0 {
		return nil
	}
	m := len(r[0])
	if n > m { // solve the transpose: the algorithm needs rows ≤ columns
		tr := make([][]float64, m)
		for j := range tr {
			tr[j] = make([]float64, n)
			for i := range r {
				tr[j][i] = r[i][j]
			}
		}
		ms := MatchHungarian(tr)
		for k := range ms {
			ms[k].A, ms[k].B = ms[k].B, ms[k].A
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].A < ms[j].A })
		return ms
	}
	// Minimum-cost assignment with cost −r: potentials u (rows), v (columns), p[j] the row
	// assigned to column j (1-based, 0 = none), way[j] the previous column on the shortest path.
	cost := func(i, j int) float64 { return -r[i-1][j-1] }
	u, v := make([]float64, n+1), make([]float64, m+1)
	p, way := make([]int, m+1), make([]int, m+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		minv := make([]float64, m+1)
		used := make([]bool, m+1)
		for j := range minv {
			minv[j] = math.Inf(1)
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				if c := cost(i0, j) - u[i0] - v[j]; c < minv[j] {
					minv[j], way[j] = c, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= m; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	var out []Match
	for j := 1; j <= m; j++ {
		if p[j] != 0 {
			out = append(out, Match{A: p[j] - 1, B: j - 1, R: r[p[j]-1][j-1]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].A < out[j].A })
	return out
}

// MatchGreedy pairs rows with columns of r by repeatedly taking the largest remaining
// correlation: quick, and often what the Hungarian matching finds, but not always the best total.
func MatchGreedy(r [][]float64) []Match {
	var all []Match
	for i, row := range r {
		for j, v := range row {
			all = append(all, Match{A: i, B: j, R: v})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].R > all[b].R })
	usedA, usedB := map[int]bool{}, map[int]bool{}
	var out []Match
	for _, mt := range all {
		if !usedA[mt.A] && !usedB[mt.B] {
			usedA[mt.A], usedB[mt.B] = true, true
			out = append(out, mt)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].A < out[j].A })
	return out
}

// MeanR is the mean correlation of a matching.
func MeanR(ms []Match) float64 {
	if len(ms) == 0 {
		return math.NaN()
	}
	var s float64
	for _, m := range ms {
		s += m.R
	}
	return s / float64(len(ms))
}

// CanonicalCorrelations is the canonical correlation analysis of two sets of variables
// measured together: x [T][p], y [T][q] (T observations); the min(p, q) canonical
// correlations, descending (gonum's stat.CC). Variables that are constant (the reference's rule)
// are left out first, since they make the covariance singular.
func CanonicalCorrelations(x, y [][]float64) ([]float64, error) {
	xm, err := varyingColumns(x)
	if err != nil {
		return nil, fmt.Errorf("canonical correlations: x: %w", err)
	}
	ym, err := varyingColumns(y)
	if err != nil {
		return nil, fmt.Errorf("canonical correlations: y: %w", err)
	}
	rx, cx := xm.Dims()
	ry, cy := ym.Dims()
	if rx != ry {
		return nil, fmt.Errorf("canonical correlations: %d and %d observations", rx, ry)
	}
	if rx <= cx+cy {
		return nil, fmt.Errorf("canonical correlations: %d observations for %d + %d variables; need more observations than variables", rx, cx, cy)
	}
	var cc stat.CC
	if err := cc.CanonicalCorrelations(xm, ym, nil); err != nil {
		return nil, fmt.Errorf("canonical correlations: %w", err)
	}
	out := cc.CorrsTo(nil)
	for i, v := range out { // rounding can carry a perfect correlation a hair past 1
		out[i] = math.Min(v, 1)
	}
	return out, nil
}

// varyingColumns returns the columns of x ([T][p]) that are not constant, as a matrix.
func varyingColumns(x [][]float64) (*mat.Dense, error) {
	if len(x) == 0 || len(x[0]) == 0 {
		return nil, fmt.Errorf("no observations or no variables")
	}
	T, p := len(x), len(x[0])
	var keep []int
	for j := 0; j < p; j++ {
		var s, ss, sa float64
		for _, row := range x {
			if len(row) != p {
				return nil, fmt.Errorf("rows of %d and %d variables", p, len(row))
			}
			s += row[j]
			sa += math.Abs(row[j])
		}
		mean := s / float64(T)
		for _, row := range x {
			ss += (row[j] - mean) * (row[j] - mean)
		}
		if !Quiet(sa/float64(T), math.Sqrt(ss/float64(T))) {
			keep = append(keep, j)
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("every variable is constant")
	}
	m := mat.NewDense(T, len(keep), nil)
	for t, row := range x {
		for k, j := range keep {
			m.Set(t, k, row[j])
		}
	}
	return m, nil
}

// SimilarityOptions configure CompareModels.
type SimilarityOptions struct {
	PreNonlinearity bool // compare the layers before their ReLU
	// MaxUnits bounds the units of each layer correlated one by one (a strided grid of rows
	// and columns is kept, every channel; default 2048).
	MaxUnits int
}

// LayerSimilarity compares one hidden layer of two models on the same stimulus.
type LayerSimilarity struct {
	Layer string `json:"layer"`
	// ChannelR: [Ca][Cb] correlation of the channels' central units.
	ChannelR [][]float64 `json:"channel_r"`
	// Matched: the Hungarian one-to-one matching of channels on ChannelR, and its mean r.
	Matched      []Match `json:"matched"`
	MeanMatchedR float64 `json:"mean_matched_r"`
	// MeanBestR: for every unit of A (strided grid), the best r over B's units, averaged — the
	// reference's model-to-model correlation.
	MeanBestR float64 `json:"mean_best_r"`
	// CCA: canonical correlations between the central units of the two layers' channels.
	CCA []float64 `json:"cca"`
	// The null of each number: the same comparison with B's activity shifted circularly in time
	// by half the stimulus (independent series with the same autocorrelation and marginals),
	// what these statistics reach with no relation between the layers: the maximum over
	// thousands of unit pairs and the top canonical correlation are well above 0 by selection.
	NullMeanMatchedR float64   `json:"null_mean_matched_r"`
	NullMeanBestR    float64   `json:"null_mean_best_r"`
	NullCCA          []float64 `json:"null_cca"`
}

// CompareModels compares the hidden layers the two recorders share by name, on stim ([T, H, W]
// raw units of both; the models must read the same frame size and history length).
func CompareModels(a, b Recorder, stim datasets.Movie, opts SimilarityOptions) ([]LayerSimilarity, error) {
	ia, ib := a.Input(), b.Input()
	if ia.History != ib.History || ia.H != ib.H || ia.W != ib.W {
		return nil, fmt.Errorf("compare models: inputs %d×%d×%d and %d×%d×%d differ", ia.History, ia.H, ia.W, ib.History, ib.H, ib.W)
	}
	if opts.MaxUnits <= 0 {
		opts.MaxUnits = 2048
	}
	var names []string
	for _, la := range a.Layers() {
		for _, lb := range b.Layers() {
			if la.Name == lb.Name {
				names = append(names, la.Name)
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("compare models: no hidden layer in common")
	}
	actsA, err := a.Record(stim, names, opts.PreNonlinearity)
	if err != nil {
		return nil, err
	}
	actsB, err := b.Record(stim, names, opts.PreNonlinearity)
	if err != nil {
		return nil, err
	}
	var out []LayerSimilarity
	for i, name := range names {
		s, err := compareLayer(actsA[i], actsB[i], opts.MaxUnits)
		if err != nil {
			return nil, fmt.Errorf("compare models: layer %s: %w", name, err)
		}
		s.Layer = name
		out = append(out, s)
	}
	return out, nil
}

func compareLayer(a, b retina.Activations, maxUnits int) (LayerSimilarity, error) {
	s, err := similarity(a, b, maxUnits)
	if err != nil {
		return s, err
	}
	null, err := similarity(a, rotateTime(b, b.Shape[0]/2), maxUnits)
	if err != nil {
		return s, fmt.Errorf("null: %w", err)
	}
	s.NullMeanMatchedR, s.NullMeanBestR, s.NullCCA = null.MeanMatchedR, null.MeanBestR, null.CCA
	return s, nil
}

// rotateTime shifts activations [T, C, H, W] circularly in time by k samples.
func rotateTime(a retina.Activations, k int) retina.Activations {
	T := a.Shape[0]
	per := len(a.Data) / max(T, 1)
	out := a
	out.Data = make([]float32, len(a.Data))
	for t := 0; t < T; t++ {
		copy(out.Data[((t+k)%T)*per:((t+k)%T+1)*per], a.Data[t*per:(t+1)*per])
	}
	return out
}

func similarity(a, b retina.Activations, maxUnits int) (LayerSimilarity, error) {
	var s LayerSimilarity
	ca, cb := centralUnits(a), centralUnits(b)
	var err error
	if s.ChannelR, err = CorrelationMatrix(ca, cb); err != nil {
		return s, err
	}
	s.Matched = MatchHungarian(s.ChannelR)
	s.MeanMatchedR = MeanR(s.Matched)
	ua, ub := stridedUnits(a, maxUnits), stridedUnits(b, maxUnits)
	r, err := CorrelationMatrix(ua, ub)
	if err != nil {
		return s, err
	}
	var sum float64
	for _, row := range r {
		best := math.Inf(-1)
		for _, v := range row {
			best = math.Max(best, v)
		}
		sum += best
	}
	s.MeanBestR = sum / float64(len(r))
	toRows := func(series [][]float32) [][]float64 {
		rows := make([][]float64, len(series[0]))
		for t := range rows {
			rows[t] = make([]float64, len(series))
			for k, x := range series {
				rows[t][k] = float64(x[t])
			}
		}
		return rows
	}
	if cc, err := CanonicalCorrelations(toRows(ca), toRows(cb)); err == nil {
		s.CCA = cc
	}
	return s, nil
}

// centralUnits returns the time course of each channel's central unit.
func centralUnits(a retina.Activations) [][]float32 {
	out := make([][]float32, a.Shape[1])
	for c := range out {
		out[c] = a.Unit(c, a.Shape[2]/2, a.Shape[3]/2)
	}
	return out
}

// stridedUnits returns the time courses of every channel's units on a grid of rows and columns
// strided so that at most maxUnits come back (at least one per channel).
func stridedUnits(a retina.Activations, maxUnits int) [][]float32 {
	c, h, w := a.Shape[1], a.Shape[2], a.Shape[3]
	stride := 1
	for c*((h+stride-1)/stride)*((w+stride-1)/stride) > maxUnits && stride < max(h, w) {
		stride++
	}
	var out [][]float32
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y += stride {
			for x := 0; x < w; x += stride {
				out = append(out, a.Unit(ch, y, x))
			}
		}
	}
	return out
}
