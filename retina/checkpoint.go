package retina

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/internal/tensorconv"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// MetaFormat is the version of RunMeta's layout; bumped when a field changes meaning.
const MetaFormat = 1

// RunMeta describes a run and one of its checkpoints completely: with it and the variables
// next to it, a model can be rebuilt, fed raw stimulus and scored without the original data.
type RunMeta struct {
	Format      int                `json:"format"`
	Config      runconfig.Config   `json:"config"`
	Model       nn.ModelConfig     `json:"model"`
	NormStats   datasets.NormStats `json:"norm_stats"`
	CellIDs     []int              `json:"cell_ids"`
	InputShape  [3]int             `json:"input_shape"` // [history, H, W]
	FrameRate   float64            `json:"frame_rate_hz"`
	PixelSizeUM float64            `json:"pixel_size_um"`
	Data        string             `json:"data"`                  // provenance of the training data, for people
	DataSource  *datasets.Source   `json:"data_source,omitempty"` // identity of the training data (CheckSameData); absent in runs of older versions
	Backend     string             `json:"backend"`

	Epoch       int     `json:"epoch"`         // complete epochs trained
	StepInEpoch int     `json:"step_in_epoch"` // batches of epoch Epoch+1 already trained (interrupted mid-epoch)
	LossSum     float64 `json:"loss_sum"`      // sum of the batch losses of the partial epoch
	LR          float64 `json:"lr"`            // current learning rate

	BestEpoch      int     `json:"best_epoch"`
	BestValCorr    float64 `json:"best_val_corr"`
	TestCorrAtBest float64 `json:"test_corr_at_best"`
	SinceBest      int     `json:"since_best"`        // epochs without validation improvement (early stopping)
	SinceLRChange  int     `json:"since_lr_change"`   // epochs without improvement counted by the LR scheduler
	Stopped        string  `json:"stopped,omitempty"` // why training ended: "completed", "early-stopping", "imported"

	History []EpochRecord     `json:"history"`
	Files   map[string]string `json:"files"` // checkpoint file → SHA-256, to detect corruption

	Imported *ImportInfo `json:"imported,omitempty"` // set for runs made by torchio.ImportRun: the source checkpoint

	// Multi-recording runs (runrecordings.go); absent in single-recording runs. The top-level
	// fields above (model, norm_stats, cell_ids, …) then describe the first recording.
	Recordings     []RecordingMeta `json:"recordings,omitempty"`      // each recording, with its readout
	CoreRecordings []CoreRecording `json:"core_recordings,omitempty"` // the recordings the core was trained on
	CoreFrom       *CoreOrigin     `json:"core_from,omitempty"`       // fine-tuned runs: the checkpoint the core started from
}

// EpochRecord is one line of the training curve.
type EpochRecord struct {
	Epoch     int     `json:"epoch"`
	TrainLoss float64 `json:"train_loss"`
	ValCorr   float64 `json:"val_corr"`
	TestCorr  float64 `json:"test_corr"`
	LR        float64 `json:"lr"`
	Seconds   float64 `json:"seconds"` // the whole epoch: training, validation and test scoring

	// Where the time and the transfers went (this process's share of the epoch when it resumed
	// mid-epoch).
	TrainSteps     int     `json:"train_steps"`
	TrainSeconds   float64 `json:"train_seconds"`    // in training steps
	CompileSeconds float64 `json:"compile_seconds"`  // the first step of the process, which compiles the step (included in train_seconds)
	HostToDevice   int64   `json:"host_to_device_b"` // bytes sent to the device: window starts (the data is resident)

	// Recordings are the scores of each recording of a multi-recording run, whose ValCorr and
	// TestCorr are their means.
	Recordings []RecordingScore `json:"recordings,omitempty"`
}

const (
	checkpointsDir = "checkpoints"
	metaFile       = "meta.json"
	runFile        = "run.json"
)

var checkpointName = regexp.MustCompile(`^epoch-(\d{4,})(?:-step-(\d+))?$`)

func checkpointDirName(epoch, step int) string {
	if step > 0 {
		return fmt.Sprintf("epoch-%04d-step-%06d", epoch, step)
	}
	return fmt.Sprintf("epoch-%04d", epoch)
}

// checkpointRef names one checkpoint folder of a run.
type checkpointRef struct {
	Epoch, Step int
	Dir         string
}

// listCheckpoints returns the run's checkpoint folders, newest first. Temporary folders of
// interrupted saves are not listed.
func listCheckpoints(runDir string) ([]checkpointRef, error) {
	root := filepath.Join(runDir, checkpointsDir)
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list checkpoints in %s: %w", root, err)
	}
	var refs []checkpointRef
	for _, e := range entries {
		m := checkpointName.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		ep, _ := strconv.Atoi(m[1])
		st := 0
		if m[2] != "" {
			st, _ = strconv.Atoi(m[2])
		}
		refs = append(refs, checkpointRef{Epoch: ep, Step: st, Dir: filepath.Join(root, e.Name())})
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Epoch != refs[j].Epoch {
			return refs[i].Epoch > refs[j].Epoch
		}
		return refs[i].Step > refs[j].Step
	})
	return refs, nil
}

// ReadMeta reads and checks a checkpoint folder's meta.json and the hashes of its files. Any
// mismatch means the checkpoint is corrupt and must not be loaded.
func ReadMeta(dir string) (*RunMeta, error) {
	path := filepath.Join(dir, metaFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	meta, err := ParseMeta(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if len(meta.Files) == 0 {
		return nil, fmt.Errorf("checkpoint %s: field \"files\": expected the list of checkpoint files with their hashes", path)
	}
	for name, want := range meta.Files {
		got, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
		}
		if got != want {
			return nil, fmt.Errorf("checkpoint %s: file %s is corrupt (SHA-256 %s, expected %s)", dir, name, got[:12], want[:min(12, len(want))])
		}
	}
	return meta, nil
}

// ParseMeta decodes a run description and checks its fields, naming the first bad one.
func ParseMeta(data []byte) (*RunMeta, error) {
	var meta RunMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, fmt.Errorf("not a valid run description: %w", err)
	}
	if meta.Format != MetaFormat {
		return nil, fmt.Errorf("field \"format\": expected %d, got %d (written by another version of deepretina?)", MetaFormat, meta.Format)
	}
	if err := meta.Model.Validate(); err != nil {
		return nil, fmt.Errorf("field \"model\": %w", err)
	}
	if len(meta.CellIDs) != meta.Model.NCells {
		return nil, fmt.Errorf("field \"cell_ids\": %d ids for a model of %d cells", len(meta.CellIDs), meta.Model.NCells)
	}
	if meta.InputShape != meta.Model.ImgShape {
		return nil, fmt.Errorf("field \"input_shape\": %v differs from the model's %v", meta.InputShape, meta.Model.ImgShape)
	}
	if !(meta.NormStats.Std > 0) {
		return nil, fmt.Errorf("field \"norm_stats.std\": expected a positive number, got %v", meta.NormStats.Std)
	}
	if meta.Epoch < 0 || meta.StepInEpoch < 0 {
		return nil, fmt.Errorf("field \"epoch\": expected ≥ 0, got %d (step %d)", meta.Epoch, meta.StepInEpoch)
	}
	if err := meta.checkRecordings(); err != nil {
		return nil, err
	}
	return &meta, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkpointer writes a run's checkpoints atomically: GoMLX saves the variables into a staging
// folder, the files move into a temporary folder with a meta.json holding their hashes, every
// file and folder is fsynced, and one rename publishes the checkpoint. A crash at any point
// leaves either the previous checkpoints or the new one, never half of one.
type checkpointer struct {
	runDir  string
	staging string
	handler *checkpoint.Handler
	keep    int
}

// ImportInfo records, in the metadata of a run imported by package torchio, where its weights came from.
type ImportInfo struct {
	From        string             `json:"from"`                      // the checkpoint file, as given
	SHA256      string             `json:"sha256"`                    // of the file's bytes
	Format      string             `json:"format"`                    // "zip" or "legacy"
	ModelType   string             `json:"model_type"`                // the reference's model_type
	ModuleOrder string             `json:"module_order"`              // "newest", "older" or "other"
	NoiseParam  string             `json:"noise_param,omitempty"`     // "sigma" or "cuda_param"
	Epoch       int                `json:"epoch"`                     // the reference's epoch index (−1: absent)
	Scores      map[string]float64 `json:"scores,omitempty"`          // the reference's scores at that epoch
	Hyps        map[string]any     `json:"hyperparameters,omitempty"` // the checkpoint's hyper-parameters, as stored
}

// NoCorrelation is RunMeta.BestValCorr of a run whose validation correlation was never measured.
const NoCorrelation = noCorrelation

// SaveRun writes the store's variables and meta as the one checkpoint of a finished run in
// runDir (the layout Train writes), for runs that were not trained here: imported ones. It
// refuses a folder that holds a run already.
func SaveRun(store *model.Store, runDir string, meta *RunMeta) error {
	if refs, err := listCheckpoints(runDir); err != nil {
		return err
	} else if len(refs) > 0 {
		return fmt.Errorf("%s already holds a run (%s); choose another output folder", runDir, filepath.Base(refs[0].Dir))
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	ckpt, err := newCheckpointer(store, runDir, 1)
	if err != nil {
		return err
	}
	if _, err := ckpt.save(meta); err != nil {
		return fmt.Errorf("save into %s: %w", runDir, err)
	}
	return nil
}

func newCheckpointer(store *model.Store, runDir string, keep int) (*checkpointer, error) {
	staging := filepath.Join(runDir, checkpointsDir, ".staging")
	if err := os.RemoveAll(staging); err != nil {
		return nil, fmt.Errorf("checkpoints: clear %s: %w", staging, err)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	h, err := checkpoint.Build(store).Dir(staging).Keep(-1).Done()
	if err != nil {
		return nil, fmt.Errorf("checkpoints in %s: %w", staging, err)
	}
	return &checkpointer{runDir: runDir, staging: staging, handler: h, keep: max(keep, 1)}, nil
}

// save publishes a checkpoint of the store's variables with meta, then prunes old ones
// (the best epoch's checkpoint is always kept).
func (c *checkpointer) save(meta *RunMeta) (dir string, err error) {
	root := filepath.Join(c.runDir, checkpointsDir)
	name := checkpointDirName(meta.Epoch, meta.StepInEpoch)
	tmp := filepath.Join(root, ".tmp-"+name)
	defer func() {
		if err != nil { // leave nothing half-written behind (a full disk, say)
			os.RemoveAll(tmp)
			c.clearStaging()
		}
	}()
	if err := c.handler.Save(); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	entries, err := os.ReadDir(c.staging)
	if err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	meta.Files = map[string]string{}
	for _, e := range entries {
		dst := filepath.Join(tmp, e.Name())
		if err := os.Rename(filepath.Join(c.staging, e.Name()), dst); err != nil {
			return "", fmt.Errorf("save checkpoint: %w", err)
		}
		if err := fsutil.SyncFile(dst); err != nil {
			return "", fmt.Errorf("save checkpoint %s: %w", dst, err)
		}
		sum, err := fileSHA256(dst)
		if err != nil {
			return "", err
		}
		meta.Files[e.Name()] = sum
	}
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeFileSync(filepath.Join(tmp, metaFile), data); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := fsutil.SyncFile(tmp); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	final := filepath.Join(root, name)
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := fsutil.SyncFile(root); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(c.runDir, runFile), data); err != nil {
		return "", fmt.Errorf("save run description: %w", err)
	}
	return final, c.prune(meta.BestEpoch)
}

// keptNote says what a stopped run leaves to resume from: its newest checkpoint, or that none
// exists yet.
func (c *checkpointer) keptNote() string {
	refs, err := listCheckpoints(c.runDir)
	if err != nil || len(refs) == 0 {
		return "no checkpoint exists yet (the run stopped before its first save), so running it again starts from scratch"
	}
	return fmt.Sprintf("the last good checkpoint (%s) is kept", filepath.Base(refs[0].Dir))
}

func (c *checkpointer) clearStaging() {
	entries, _ := os.ReadDir(c.staging)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(c.staging, e.Name()))
	}
}

// prune deletes all but the newest `keep` checkpoints, sparing the best epoch's.
func (c *checkpointer) prune(bestEpoch int) error {
	refs, err := listCheckpoints(c.runDir)
	if err != nil {
		return err
	}
	for i, r := range refs {
		if i < c.keep || (r.Epoch == bestEpoch && r.Step == 0) {
			continue
		}
		if err := os.RemoveAll(r.Dir); err != nil {
			return fmt.Errorf("prune checkpoint %s: %w", r.Dir, err)
		}
	}
	return nil
}

// latestGoodCheckpoint returns the newest checkpoint whose files match their hashes. Corrupt
// ones are reported on warn and skipped, so a damaged latest checkpoint falls back to the
// previous good one.
func latestGoodCheckpoint(runDir string, warn io.Writer) (*checkpointRef, *RunMeta, error) {
	refs, err := listCheckpoints(runDir)
	if err != nil {
		return nil, nil, err
	}
	for i := range refs {
		meta, err := ReadMeta(refs[i].Dir)
		if err != nil {
			if warn != nil {
				fmt.Fprintf(warn, "deepretina: skipping unusable checkpoint: %v\n", err)
			}
			continue
		}
		return &refs[i], meta, nil
	}
	return nil, nil, nil
}

// loadVariables attaches the GoMLX checkpoint in dir to store: variables already in it are
// overwritten now, the others take their saved values when the model creates them (so they
// keep the trainable flags the model gives them); immediate creates them all now, for
// inference and export.
func loadVariables(store *model.Store, dir string, immediate bool) error {
	cfg := checkpoint.Build(store).Dir(dir)
	if jsonText, bin, old, err := v026Checkpoint(dir); err != nil {
		return fmt.Errorf("load checkpoint %s: %w", dir, err)
	} else if old {
		cfg = checkpoint.Build(store).FromEmbed(jsonText, bin)
	}
	if immediate {
		cfg = cfg.Immediate()
	}
	if _, err := cfg.Done(); err != nil {
		return fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	if immediate {
		// A model whose weights are not finite predicts NaN everywhere: refuse it here, naming
		// the variable, rather than let predict and export pass NaN on.
		for v := range store.IterVariables() {
			if !strings.HasPrefix(v.Path(), model.ScopeSeparator+ModelScope+model.ScopeSeparator) {
				continue
			}
			if msg := tensorconv.NonFinite(v.MustValue()); msg != "" {
				return fmt.Errorf("load checkpoint %s: variable %s: %s (the training that wrote it diverged, or the file was altered)", dir, v.Path(), msg)
			}
		}
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CheckpointVariables reads every variable of a checkpoint folder (after checking its hashes),
// keyed by scoped name ("/model/conv1/kernel", "/optimizers/adam/…", …).
func CheckpointVariables(dir string) (map[string]*tensors.Tensor, error) {
	if _, err := ReadMeta(dir); err != nil {
		return nil, err
	}
	store := model.NewStore()
	if err := loadVariables(store, dir, true); err != nil {
		return nil, err
	}
	vars := map[string]*tensors.Tensor{}
	for v := range store.IterVariables() {
		vars[v.Path()] = v.MustValue()
	}
	return vars, nil
}
