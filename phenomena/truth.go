package phenomena

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/deepretina/deepretina/retina"
)

// simProvenance matches the provenance the simulator writes into its recordings (and that
// training copies into a run's meta.json as "data"): "simulated retina preset=small seed=1 …".
var simProvenance = regexp.MustCompile(`^simulated retina preset=(\w+) seed=(\d+)`)

// TruthForRun returns the simulated retina a run was trained on, read out like the run's model
// (its history and cells) but adapted to grey before each stimulus and judged with its own
// filter span (NewSimResponder's LeadIn and FilterFrames), so that its verdicts do not depend
// on the model's history, and a description of it:
//
//   - preset "" (the default): the run's own simulated retina, when its data were simulated —
//     in memory (config dataset "sim-<preset>" with no datapath; seed: config sim_seed) or
//     from files written by `deepretina simulate` (their provenance names preset and seed).
//     A run trained on recorded data has no truth: the responder is nil.
//   - preset "small", "paper", …: that preset, with the run's simulation seed when the run was
//     trained on that preset, else the preset's default seed.
//
// The run's cell ids pick the simulated cells when they all exist there; otherwise (a truth
// asked for a recorded-data run) every simulated cell is used. The responder is a
// *SimResponder, or a nil interface when there is no truth (so it can go straight to Battery).
//
// Units: when the run was trained on simulated data its NormStats are in the simulator's
// intensity units (every preset's), and the truth maps the battery's z-scored stimuli through
// them exactly as the model does (SimResponder.Norm = the run's NormStats), grey included: the
// model and its truth are shown one physical stimulus, in units of the model's training SD. A
// run trained on recorded data has NormStats in the recording's own units, which mean nothing
// to the simulator; a truth asked for it (preset given) takes z in its own units (Norm nil).
// meta must describe one recording (a multi-recording run's RunMeta.ForRecording view, as
// retina.LoadModel with LoadOptions.Recording gives): its NormStats are those of the readout
// judged.
func TruthForRun(meta *retina.RunMeta, preset string) (Responder, string, error) {
	if len(meta.Recordings) > 1 {
		return nil, "", fmt.Errorf("truth: the run holds %d recordings (%s); expected the description of the one judged (RunMeta.ForRecording)", len(meta.Recordings), strings.Join(meta.RecordingNames(), ", "))
	}
	runPreset, runSeed, simulated := runSimulation(meta)
	seed := uint64(0)
	switch {
	case preset == "" && !simulated:
		return nil, "", nil
	case preset == "":
		preset, seed = runPreset, runSeed
	case simulated && preset == runPreset:
		seed = runSeed
	}
	truth, err := NewSimResponder(preset, seed, meta.InputShape[0], nil)
	if err != nil {
		return nil, "", fmt.Errorf("truth: %w", err)
	}
	cells := meta.CellIDs
	for _, c := range cells {
		if c < 0 || c >= truth.Retina.NCells() {
			cells = nil
			break
		}
	}
	truth.Cells = cells
	cfg := truth.Retina.Config()
	desc := fmt.Sprintf("simulated retina preset=%s seed=%d (%d×%d px; adapted to grey for %d frames before each stimulus, filters of %d frames)", preset, cfg.Seed, cfg.H, cfg.W, truth.LeadIn, truth.FilterFrames)
	if simulated {
		n := meta.NormStats
		if !(n.Std > 0) || math.IsInf(n.Std, 0) || math.IsNaN(n.Mean) || math.IsInf(n.Mean, 0) {
			return nil, "", fmt.Errorf("truth: field \"norm_stats\": mean %v std %v; expected a finite mean and a finite positive std", n.Mean, n.Std)
		}
		truth.Norm = &n
		desc += fmt.Sprintf(", shown the model's stimulus (z → %.4g + %.4g·z)", n.Mean, n.Std)
	}
	if cells == nil && len(meta.CellIDs) > 0 {
		desc += ", all its cells (the run's cell ids are not its cells)"
	}
	return truth, desc, nil
}

// runSimulation reports the preset and seed of the simulated retina a run's data came from.
func runSimulation(meta *retina.RunMeta) (preset string, seed uint64, ok bool) {
	cfg := meta.Config
	if cfg.DataPath == "" {
		if p, found := strings.CutPrefix(cfg.Dataset, retina.SimulatedDatasetPrefix); found {
			return p, cfg.SimSeed, true
		}
	}
	if m := simProvenance.FindStringSubmatch(meta.Data); m != nil {
		if s, err := strconv.ParseUint(m[2], 10, 64); err == nil {
			return m[1], s, true
		}
	}
	return "", 0, false
}
