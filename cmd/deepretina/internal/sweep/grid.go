package sweep

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/deepretina/deepretina/retina/runconfig"
)

// A --ranges grid is expanded one combination at a time, so that its size is known (and
// refused above --max-combinations) before anything is built, and --sample draws from a grid of
// any size without building it.

// defaultMaxCombinations is how many runs train and sweep plan without --max-combinations.
const defaultMaxCombinations = 1000

// materializeCap is the largest grid that --sample enumerates when it must (n_repeats in
// --ranges), and the largest drawn from with a permutation (larger ones: Floyd's algorithm).
const materializeCap = 1 << 22

// grid is the Cartesian product of ranges over base, each combination repeated n_repeats times.
type grid struct {
	base   runconfig.Config
	ranges runconfig.Ranges
	keys   []string // sorted: the last varies fastest, as runconfig.Ranges.Expand orders them
	file   string   // the --ranges file, for messages
}

// gridRun is one run of a grid: its config, the ranges' values that make it, and its repeat.
type gridRun struct {
	cfg    runconfig.Config
	values map[string]json.RawMessage
	repeat int // −1: not repeated (n_repeats ≤ 1)
}

func newGrid(base runconfig.Config, r runconfig.Ranges, file string) (*grid, error) {
	g := &grid{base: base, ranges: r, file: file}
	for k := range r {
		g.keys = append(g.keys, k)
	}
	sort.Strings(g.keys)
	// One value listed twice under two spellings (1e-3 and 0.001) would train the same run
	// twice, in two folders: values are compared, not their text.
	for _, k := range g.keys {
		vals := make([]any, len(r[k]))
		for i, raw := range r[k] {
			if err := json.Unmarshal(raw, &vals[i]); err != nil {
				return nil, fmt.Errorf("ranges %s: key %q: value %s: %w", file, k, raw, err)
			}
			for j := range i {
				if reflect.DeepEqual(vals[i], vals[j]) {
					return nil, fmt.Errorf("ranges %s: key %q lists the same value twice (%s and %s): each would train the same run; list it once",
						file, k, r[k][j], raw)
				}
			}
		}
	}
	return g, nil
}

// combos is the number of combinations of the ranges (math.MaxInt when it overflows).
func (g *grid) combos() int {
	n := 1
	for _, k := range g.keys {
		l := len(g.ranges[k])
		if n > math.MaxInt/l {
			return math.MaxInt
		}
		n *= l
	}
	return n
}

// repeatsVary reports whether n_repeats is one of the ranges' keys.
func (g *grid) repeatsVary() bool { _, ok := g.ranges["n_repeats"]; return ok }

// size is the number of runs: combinations × repeats (math.MaxInt when it overflows).
func (g *grid) size() int {
	c := g.combos()
	if !g.repeatsVary() {
		rep := max(1, g.base.NRepeats)
		if c > math.MaxInt/rep {
			return math.MaxInt
		}
		return c * rep
	}
	per := c / len(g.ranges["n_repeats"]) // combinations of the other keys
	sum := 0
	for _, raw := range g.ranges["n_repeats"] {
		var v int
		_ = json.Unmarshal(raw, &v)
		sum += max(1, v)
	}
	if per > math.MaxInt/sum {
		return math.MaxInt
	}
	return per * sum
}

// combo returns combination c (0-based, in product order) and the ranges' values that make it.
func (g *grid) combo(c int) (runconfig.Config, map[string]json.RawMessage, error) {
	one := runconfig.Ranges{}
	values := map[string]json.RawMessage{}
	for i := len(g.keys) - 1; i >= 0; i-- {
		k := g.keys[i]
		l := len(g.ranges[k])
		v := g.ranges[k][c%l]
		c /= l
		one[k], values[k] = []json.RawMessage{v}, v
	}
	cfgs, err := one.Expand(g.base)
	if err != nil {
		return runconfig.Config{}, nil, err
	}
	return cfgs[0], values, nil
}

// runsOf expands one combination into its repeats.
func runsOf(cfg runconfig.Config, values map[string]json.RawMessage) []gridRun {
	reps := runconfig.ExpandRepeats([]runconfig.Config{cfg})
	out := make([]gridRun, len(reps))
	for i, r := range reps {
		out[i] = gridRun{cfg: r, values: values, repeat: -1}
		if len(reps) > 1 || cfg.NRepeats > 1 {
			out[i].repeat = i
		}
	}
	return out
}

// all returns every run, in index order.
func (g *grid) all() ([]gridRun, error) {
	var out []gridRun
	for c := range g.combos() {
		cfg, values, err := g.combo(c)
		if err != nil {
			return nil, err
		}
		out = append(out, runsOf(cfg, values)...)
	}
	return out, checkFolders(out)
}

// sample returns n runs drawn without replacement with seed, in index order: the same n for
// the same seed (for grids up to materializeCap runs, the same draw as earlier versions).
func (g *grid) sample(n int, seed uint64) ([]gridRun, error) {
	total := g.size()
	idx := drawIndices(total, n, seed)
	var out []gridRun
	if g.repeatsVary() {
		if total > materializeCap {
			return nil, fmt.Errorf("ranges %s: %d runs with n_repeats among the ranges are too many to draw --sample from; set n_repeats in --config instead", g.file, total)
		}
		all, err := g.all()
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			out = append(out, all[i])
		}
		return out, nil
	}
	rep := max(1, g.base.NRepeats)
	for _, i := range idx {
		cfg, values, err := g.combo(i / rep)
		if err != nil {
			return nil, err
		}
		out = append(out, runsOf(cfg, values)[i%rep])
	}
	return out, checkFolders(out)
}

// drawIndices draws n of 0…total−1 without replacement, sorted.
func drawIndices(total, n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0x5ee9))
	if total <= materializeCap {
		idx := slices.Clone(rng.Perm(total)[:n])
		slices.Sort(idx)
		return idx
	}
	chosen := make(map[int]bool, n) // Floyd's algorithm
	for j := total - n; j < total; j++ {
		t := rng.IntN(j + 1)
		if chosen[t] {
			t = j
		}
		chosen[t] = true
	}
	idx := make([]int, 0, n)
	for i := range chosen {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return idx
}

// checkFolders refuses two runs that would train into one folder.
func checkFolders(runs []gridRun) error {
	seen := map[string]int{}
	for i, r := range runs {
		if j, dup := seen[r.cfg.ExpName]; dup {
			return fmt.Errorf("combinations %d and %d both train into %s: give the ranges values that differ in their folder names", j, i, r.cfg.ExpName)
		}
		seen[r.cfg.ExpName] = i
	}
	return nil
}

// tooMany is the error for a grid larger than the limit.
func (g *grid) tooMany(total, limit int) error {
	count := fmt.Sprint(total)
	if total == math.MaxInt {
		count = "more than " + fmt.Sprint(math.MaxInt)
	}
	var sizes []string
	for _, k := range g.keys {
		sizes = append(sizes, fmt.Sprintf("%s %d", k, len(g.ranges[k])))
	}
	return fmt.Errorf("ranges %s: %s runs (%s values), more than --max-combinations %d: train a random --sample N of them, or raise --max-combinations to plan them all",
		g.file, count, strings.Join(sizes, " × "), limit)
}
