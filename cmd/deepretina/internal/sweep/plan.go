package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// PlanFlags choose the combinations of a sweep. train and sweep share them, and every worker
// and Slurm task gets them back on its command line, so all agree on what index i means.
type PlanFlags struct {
	config, Ranges, data string
	sample               int
	seed                 uint64
	maxCombos            int
}

func (p *PlanFlags) Register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.config, "config", "", "hyper-parameter JSON (reference key names); keys it omits take the published defaults (runconfig.DefaultConfig), not the CPU default")
	f.StringVar(&p.Ranges, "ranges", "", "JSON mapping config keys to lists of values: train every combination")
	f.StringVar(&p.data, "data", "", "data root holding <dataset>/<stim_type>.h5 (overrides the config's datapath)")
	f.IntVar(&p.sample, "sample", 0, "train N combinations drawn at random from the --ranges product instead of all")
	f.Uint64Var(&p.seed, "seed", 0, "with --sample: seed of the random draw (the models' own seed is the config key seed)")
	f.IntVar(&p.maxCombos, "max-combinations", defaultMaxCombinations, "refuse to plan more runs than this from --ranges (raise it to confirm a larger grid, or use --sample)")
}

// Check rejects flag combinations that would be silently ignored.
func (p PlanFlags) Check(cmd *cobra.Command) error {
	if p.sample < 0 {
		return fmt.Errorf("--sample %d: expected a positive number of combinations", p.sample)
	}
	if p.sample > 0 && p.Ranges == "" {
		return errors.New("--sample draws from the combinations of --ranges; give --ranges")
	}
	if cmd.Flags().Changed("seed") && p.sample == 0 {
		return errors.New("--seed chooses the --sample draw; without --sample it does nothing (set the models' seed with the config key seed)")
	}
	if p.maxCombos < 1 {
		return fmt.Errorf("--max-combinations %d: expected at least 1", p.maxCombos)
	}
	return nil
}

// Configs returns the runs the flags describe, in index order: the base config (the --config
// file, or the CPU default), each --ranges combination over it, each repeated n_repeats times,
// or --sample of them.
func (p PlanFlags) Configs() ([]runconfig.Config, error) {
	runs, _, err := p.runs()
	if err != nil {
		return nil, err
	}
	out := make([]runconfig.Config, len(runs))
	for i, r := range runs {
		out[i] = r.cfg
	}
	return out, nil
}

// runs is configs with what makes each run (the ranges' values, the repeat) and the base config.
// A grid of more than --max-combinations runs is refused before it is built.
func (p PlanFlags) runs() ([]gridRun, runconfig.Config, error) {
	origin := p.Origin()
	base := runconfig.SmallConfig()
	if p.config != "" {
		var err error
		if base, err = runconfig.LoadConfig(p.config, runconfig.DefaultConfig()); err != nil {
			return nil, base, origin.Explain(err)
		}
	}
	if p.data != "" {
		base.DataPath = p.data
	}
	limit := p.maxCombos
	if limit == 0 {
		limit = defaultMaxCombinations
	}
	if p.Ranges == "" {
		var runs []gridRun
		for i, c := range runconfig.ExpandRepeats([]runconfig.Config{base}) {
			runs = append(runs, gridRun{cfg: c, repeat: map[bool]int{true: i, false: -1}[base.NRepeats > 1]})
		}
		return runs, base, nil
	}
	r, err := runconfig.LoadRanges(p.Ranges)
	if err != nil {
		return nil, base, err
	}
	g, err := newGrid(base, r, p.Ranges)
	if err != nil {
		return nil, base, err
	}
	total := g.size()
	var runs []gridRun
	switch {
	case p.sample > total:
		return nil, base, fmt.Errorf("--sample %d: %s has only %d combinations", p.sample, p.Ranges, total)
	case p.sample > limit:
		return nil, base, fmt.Errorf("--sample %d: more runs than --max-combinations %d; raise --max-combinations to plan them", p.sample, limit)
	case p.sample > 0:
		runs, err = g.sample(p.sample, p.seed)
	case total > limit:
		return nil, base, g.tooMany(total, limit)
	default:
		runs, err = g.all()
	}
	if err != nil {
		return nil, base, origin.Explain(err)
	}
	return runs, base, nil
}

// Origin says which keys the user's files set, for errors about the ones they did not.
func (p PlanFlags) Origin() configOrigin {
	return configOrigin{file: p.config, keys: jsonKeys(p.config), ranges: jsonKeys(p.Ranges), dataFlag: p.data != ""}
}

// args writes the flags back as command-line arguments with absolute paths, for workers and
// Slurm tasks that may start in another folder.
func (p PlanFlags) args() ([]string, error) {
	p, err := p.Absolute()
	if err != nil {
		return nil, err
	}
	var args []string
	for _, f := range []struct{ name, path string }{{"--config", p.config}, {"--ranges", p.Ranges}, {"--data", p.data}} {
		if f.path != "" {
			args = append(args, f.name, f.path)
		}
	}
	if p.sample > 0 {
		args = append(args, "--sample", strconv.Itoa(p.sample), "--seed", strconv.FormatUint(p.seed, 10))
	}
	if p.maxCombos != 0 && p.maxCombos != defaultMaxCombinations {
		args = append(args, "--max-combinations", strconv.Itoa(p.maxCombos))
	}
	return args, nil
}

// SweepPlan is RUNS/sweep.json: what `deepretina sweep` planned, so tasks can check that the
// files they read still give the same combinations, and `sweep status` knows what to list.
//
// The base config is stored once; each run stores only the ranges' values that make it (and its
// repeat), so that the plan stays small whatever the grid (format 1 stored a full config per run).
type SweepPlan struct {
	Format  int               `json:"format"`
	Created time.Time         `json:"created"`
	Train   []string          `json:"train_args"` // train's arguments for every combination, before --index
	NoLN    bool              `json:"no_ln"`
	Base    *runconfig.Config `json:"base_config,omitempty"` // the config the ranges apply to (format 2)
	Runs    []plannedRun      `json:"runs"`
	Slurm   []slurmJob        `json:"slurm_jobs,omitempty"`
}

type plannedRun struct {
	Index   int                        `json:"index"`
	ExpName string                     `json:"exp_name"`
	Values  map[string]json.RawMessage `json:"values,omitempty"` // the ranges' values of this run
	Repeat  *int                       `json:"repeat,omitempty"` // its repeat, when n_repeats > 1
	Config  *runconfig.Config          `json:"config,omitempty"` // format 1 only
}

// newPlannedRun records run i of a grid.
func newPlannedRun(i int, r gridRun) plannedRun {
	p := plannedRun{Index: i, ExpName: r.cfg.ExpName, Values: r.values}
	if r.repeat >= 0 {
		p.Repeat = new(int)
		*p.Repeat = r.repeat
	}
	return p
}

// config rebuilds the config of run i: the base config with the run's ranges values (as
// runconfig.Ranges.Expand applies them), its repeat's seed (runconfig.ExpandRepeats), its
// folder name.
func (p *SweepPlan) config(i int) (runconfig.Config, error) {
	r := p.Runs[i]
	if r.Config != nil {
		return *r.Config, nil
	}
	if p.Base == nil {
		return runconfig.Config{}, fmt.Errorf("sweep plan: run %d: no base_config to rebuild its config from", i)
	}
	ranges := runconfig.Ranges{}
	for k, v := range r.Values {
		ranges[k] = []json.RawMessage{v}
	}
	cfg := *p.Base
	if len(ranges) > 0 {
		cfgs, err := ranges.Expand(*p.Base)
		if err != nil {
			return runconfig.Config{}, fmt.Errorf("sweep plan: run %d: %w", i, err)
		}
		cfg = cfgs[0]
	}
	if r.Repeat != nil {
		cfg.Seed += uint64(*r.Repeat)
	}
	cfg.ExpName = r.ExpName
	return cfg, nil
}

type slurmJob struct {
	JobID     string    `json:"job_id"`
	Tasks     string    `json:"tasks"` // the --array list submitted
	Submitted time.Time `json:"submitted"`
}

// planFormat is the version of sweep.json this build writes (it reads 1 too).
const planFormat = 2

func ReadPlan(out string) (*SweepPlan, error) {
	path := filepath.Join(out, outputs.PlanFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p SweepPlan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("sweep plan %s: %w", path, err)
	}
	if p.Format != 1 && p.Format != planFormat {
		return nil, fmt.Errorf("sweep plan %s: format %d, expected 1 or %d (written by another version of deepretina?)", path, p.Format, planFormat)
	}
	for i, r := range p.Runs {
		if r.Index != i || r.ExpName == "" {
			return nil, fmt.Errorf("sweep plan %s: run %d: expected index %d and an exp_name", path, i, i)
		}
		if p.Format == 1 && r.Config == nil {
			return nil, fmt.Errorf("sweep plan %s: run %d: format 1 expects its config", path, i)
		}
	}
	if p.Format == planFormat && p.Base == nil && len(p.Runs) > 0 {
		return nil, fmt.Errorf("sweep plan %s: no base_config", path)
	}
	return &p, nil
}

func writePlan(out string, p *SweepPlan) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(out, outputs.PlanFile), append(data, '\n'))
}

// CheckAgainstPlan makes sure combination index of the files a task reads is the one the sweep
// planned: if --ranges or --config changed since, index i would silently train another run.
func CheckAgainstPlan(out string, index int, configs []runconfig.Config) error {
	plan, err := ReadPlan(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	path := filepath.Join(out, outputs.PlanFile)
	if len(plan.Runs) != len(configs) {
		return fmt.Errorf("the sweep planned in %s has %d combinations, but these --config/--ranges/--sample give %d: the files changed since; plan the sweep again with deepretina sweep",
			path, len(plan.Runs), len(configs))
	}
	planned, err := plan.config(index)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if diff := configDiff(planned, configs[index]); diff != "" {
		return fmt.Errorf("combination %d of the sweep planned in %s differs from what these --config/--ranges/--sample give (%s): the files changed since; plan the sweep again with deepretina sweep",
			index, path, diff)
	}
	return nil
}

// configDiff names the config keys whose values differ, "" if none.
func configDiff(planned, now runconfig.Config) string {
	if reflect.DeepEqual(planned, now) {
		return ""
	}
	var a, b map[string]json.RawMessage
	ja, _ := json.Marshal(planned)
	jb, _ := json.Marshal(now)
	_ = json.Unmarshal(ja, &a)
	_ = json.Unmarshal(jb, &b)
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if string(a[k]) != string(b[k]) {
			diffs = append(diffs, fmt.Sprintf("%s: planned %s, now %s", k, a[k], b[k]))
		}
	}
	if len(diffs) == 0 {
		return "an empty list against none"
	}
	return strings.Join(diffs, "; ")
}

// Absolute returns the flags with absolute file paths, as every worker and task receives them.
func (p PlanFlags) Absolute() (PlanFlags, error) {
	for _, f := range []*string{&p.config, &p.Ranges, &p.data} {
		if *f == "" {
			continue
		}
		abs, err := filepath.Abs(*f)
		if err != nil {
			return p, err
		}
		*f = abs
	}
	return p, nil
}
