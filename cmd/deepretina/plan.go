package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/retina"
)

// planFlags choose the combinations of a sweep. train and sweep share them, and every worker
// and Slurm task gets them back on its command line, so all agree on what index i means.
type planFlags struct {
	config, ranges, data string
	sample               int
	seed                 uint64
}

func (p *planFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.config, "config", "", "hyper-parameter JSON (reference key names); keys it omits take the published defaults (retina.DefaultConfig), not the CPU default")
	f.StringVar(&p.ranges, "ranges", "", "JSON mapping config keys to lists of values: train every combination")
	f.StringVar(&p.data, "data", "", "data root holding <dataset>/<stim_type>.h5 (overrides the config's datapath)")
	f.IntVar(&p.sample, "sample", 0, "train N combinations drawn at random from the --ranges product instead of all")
	f.Uint64Var(&p.seed, "seed", 0, "with --sample: seed of the random draw (the models' own seed is the config key seed)")
}

// check rejects flag combinations that would be silently ignored.
func (p planFlags) check(cmd *cobra.Command) error {
	if p.sample < 0 {
		return fmt.Errorf("--sample %d: expected a positive number of combinations", p.sample)
	}
	if p.sample > 0 && p.ranges == "" {
		return errors.New("--sample draws from the combinations of --ranges; give --ranges")
	}
	if cmd.Flags().Changed("seed") && p.sample == 0 {
		return errors.New("--seed chooses the --sample draw; without --sample it does nothing (set the models' seed with the config key seed)")
	}
	return nil
}

// configs returns the runs the flags describe, in index order: the base config (the --config
// file, or the CPU default), each --ranges combination over it, each repeated n_repeats times,
// or --sample of them.
func (p planFlags) configs() ([]retina.Config, error) {
	origin := p.origin()
	base := retina.SmallConfig()
	if p.config != "" {
		var err error
		if base, err = retina.LoadConfig(p.config, retina.DefaultConfig()); err != nil {
			return nil, origin.explain(err)
		}
	}
	if p.data != "" {
		base.DataPath = p.data
	}
	if p.ranges == "" {
		return retina.ExpandRepeats([]retina.Config{base}), nil
	}
	r, err := retina.LoadRanges(p.ranges)
	if err != nil {
		return nil, err
	}
	configs, err := r.Expand(base)
	if err != nil {
		return nil, origin.explain(err)
	}
	configs = retina.ExpandRepeats(configs) // n_repeats
	if p.sample == 0 {
		return configs, nil
	}
	if p.sample > len(configs) {
		return nil, fmt.Errorf("--sample %d: %s has only %d combinations", p.sample, p.ranges, len(configs))
	}
	return sampleConfigs(configs, p.sample, p.seed), nil
}

// origin says which keys the user's files set, for errors about the ones they did not.
func (p planFlags) origin() configOrigin {
	return configOrigin{file: p.config, keys: jsonKeys(p.config), ranges: jsonKeys(p.ranges), dataFlag: p.data != ""}
}

// sampleConfigs draws n of the configs without replacement, the same n for the same seed, and
// keeps them in their product order.
func sampleConfigs(configs []retina.Config, n int, seed uint64) []retina.Config {
	rng := rand.New(rand.NewPCG(seed, 0x5ee9))
	idx := rng.Perm(len(configs))[:n]
	slices.Sort(idx)
	out := make([]retina.Config, n)
	for i, j := range idx {
		out[i] = configs[j]
	}
	return out
}

// args writes the flags back as command-line arguments with absolute paths, for workers and
// Slurm tasks that may start in another folder.
func (p planFlags) args() ([]string, error) {
	p, err := p.absolute()
	if err != nil {
		return nil, err
	}
	var args []string
	for _, f := range []struct{ name, path string }{{"--config", p.config}, {"--ranges", p.ranges}, {"--data", p.data}} {
		if f.path != "" {
			args = append(args, f.name, f.path)
		}
	}
	if p.sample > 0 {
		args = append(args, "--sample", strconv.Itoa(p.sample), "--seed", strconv.FormatUint(p.seed, 10))
	}
	return args, nil
}

// sweepPlan is RUNS/sweep.json: what `deepretina sweep` planned, so tasks can check that the
// files they read still give the same combinations, and `sweep status` knows what to list.
type sweepPlan struct {
	Format  int          `json:"format"`
	Created time.Time    `json:"created"`
	Train   []string     `json:"train_args"` // train's arguments for every combination, before --index
	NoLN    bool         `json:"no_ln"`
	Runs    []plannedRun `json:"runs"`
	Slurm   []slurmJob   `json:"slurm_jobs,omitempty"`
}

type plannedRun struct {
	Index   int           `json:"index"`
	ExpName string        `json:"exp_name"`
	Config  retina.Config `json:"config"`
}

type slurmJob struct {
	JobID     string    `json:"job_id"`
	Tasks     string    `json:"tasks"` // the --array list submitted
	Submitted time.Time `json:"submitted"`
}

const (
	planFile      = "sweep.json"
	planFormat    = 1
	logsDir       = "logs"
	failedSuffix  = ".failed"
	evalFile      = "eval.json"
	runDescriptor = "run.json"
)

func readPlan(out string) (*sweepPlan, error) {
	path := filepath.Join(out, planFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p sweepPlan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("sweep plan %s: %w", path, err)
	}
	if p.Format != planFormat {
		return nil, fmt.Errorf("sweep plan %s: format %d, expected %d (written by another version of deepretina?)", path, p.Format, planFormat)
	}
	for i, r := range p.Runs {
		if r.Index != i || r.ExpName == "" {
			return nil, fmt.Errorf("sweep plan %s: run %d: expected index %d and an exp_name", path, i, i)
		}
	}
	return &p, nil
}

func writePlan(out string, p *sweepPlan) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(out, planFile), append(data, '\n'))
}

// checkAgainstPlan makes sure combination index of the files a task reads is the one the sweep
// planned: if --ranges or --config changed since, index i would silently train another run.
func checkAgainstPlan(out string, index int, configs []retina.Config) error {
	plan, err := readPlan(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	path := filepath.Join(out, planFile)
	if len(plan.Runs) != len(configs) {
		return fmt.Errorf("the sweep planned in %s has %d combinations, but these --config/--ranges/--sample give %d: the files changed since; plan the sweep again with deepretina sweep",
			path, len(plan.Runs), len(configs))
	}
	if diff := configDiff(plan.Runs[index].Config, configs[index]); diff != "" {
		return fmt.Errorf("combination %d of the sweep planned in %s differs from what these --config/--ranges/--sample give (%s): the files changed since; plan the sweep again with deepretina sweep",
			index, path, diff)
	}
	return nil
}

// configDiff names the config keys whose values differ, "" if none.
func configDiff(planned, now retina.Config) string {
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

// absolute returns the flags with absolute file paths, as every worker and task receives them.
func (p planFlags) absolute() (planFlags, error) {
	for _, f := range []*string{&p.config, &p.ranges, &p.data} {
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
