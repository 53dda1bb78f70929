package runconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/deepretina/deepretina/retina/nn"
)

// Config holds the hyper-parameters of one training run, with the reference's JSON key names
// (torch-deep-retina's hyperparams.json) so existing files carry over.
type Config struct {
	ExpName    string   `json:"exp_name"`
	ModelType  string   `json:"model_type"` // "BNCNN", "LinearStackedBNCNN" or "LN"
	Dataset    string   `json:"dataset"`    // experiment folder, e.g. "15-10-07"; "sim-small"/"sim-paper" for the simulated retina
	Cells      CellList `json:"cells"`      // cell indices in the file, or "all" (see CellList); empty = every cell
	StimType   string   `json:"stim_type"`  // "whitenoise" or "naturalscene"
	DataPath   string   `json:"datapath"`   // root holding <dataset>/<stim_type>.h5; empty = simulate the built-in retina
	LossFxn    string   `json:"lossfxn"`    // "PoissonNLLLoss" (the only loss)
	LogPoisson bool     `json:"log_poisson"`

	BatchSize int     `json:"batch_size"`
	NEpochs   int     `json:"n_epochs"`
	LR        float64 `json:"lr"`
	L1        float64 `json:"l1"`        // activity penalty on the output: l1·Σ|pred|
	L2        float64 `json:"l2"`        // weight decay (gradient += l2·w, as PyTorch's Adam)
	Noise     float64 `json:"noise"`     // std of the Gaussian noise in hidden layers, training only
	BNMoment  float64 `json:"bn_moment"` // PyTorch convention: running = (1−m)·running + m·batch
	Chans     []int   `json:"chans"`
	KSizes    []int   `json:"ksizes"`
	ImgShape  []int   `json:"img_shape"` // [history, H, W]
	Seed      uint64  `json:"seed"`

	Scheduler         string  `json:"scheduler"`          // "ReduceLROnPlateau" (on the validation correlation, maximised) or "none"
	SchedulerPatience int     `json:"scheduler_patience"` // epochs without improvement before the LR drops
	SchedulerFactor   float64 `json:"scheduler_factor"`
	EarlyStopping     int     `json:"early_stopping"`    // epochs without improvement before training stops; 0 = never
	MaxTrainWindows   int     `json:"max_train_windows"` // cap on training windows per epoch (0 = all): quick runs on a CPU
	SimSeed           uint64  `json:"sim_seed"`          // seed of the simulated retina, when datapath is empty

	// More keys of the reference's hyperparams.json (see configreference.go). Defaults are
	// the zero values (nil for the keys whose reference default is true), so run descriptions
	// written before these keys existed still describe the same runs.
	NRepeats            int     `json:"n_repeats,omitempty"`            // train this many runs, with seeds seed, seed+1, …, in folders <exp_name>_<n>; 0 or 1: one run
	StartingExpNum      *int    `json:"starting_exp_num,omitempty"`     // n of the first repeat's folder (null: 0)
	Shuffle             *bool   `json:"shuffle,omitempty"`              // visit the training windows in a new random order each epoch (default true); false: in time order
	Softplus            *bool   `json:"softplus,omitempty"`             // softplus output (default true); false: exponential output, trained on log-rates (needs log_poisson)
	Bias                *bool   `json:"bias,omitempty"`                 // convolution biases (default true)
	GCBias              bool    `json:"gc_bias,omitempty"`              // a bias in the output (ganglion-cell) dense layer
	BNorm               *bool   `json:"bnorm,omitempty"`                // batch norm (default true; the CNNs need it)
	BNormD              int     `json:"bnorm_d,omitempty"`              // batch-norm dimensionality: 1 (every unit: the CNNs' flat batch norm); 2 (per channel) is not supported
	NLayers             int     `json:"n_layers,omitempty"`             // depth of the reference's VaryModel; BNCNN and LinearStackedBNCNN ignore it, as there
	DropP               float64 `json:"drop_p,omitempty"`               // dropout between the stacked 3×3 convolutions of LinearStackedBNCNN, in training; ignored by BNCNN, as there
	StackConvs          bool    `json:"stackconvs,omitempty"`           // stacked 3×3 convolutions: what LinearStackedBNCNN does; not supported with BNCNN
	SaveEveryEpoch      bool    `json:"save_every_epoch,omitempty"`     // keep every epoch's checkpoint (default: the newest ones and the best)
	SchedulerMilestones []int   `json:"scheduler_milestones,omitempty"` // MultiStepLR: after each of these epochs the learning rate is multiplied by scheduler_factor
	TrainLoop           string  `json:"train_loop,omitempty"`           // the reference's training-loop function; only the standard loop exists here (leave it out)
	Retinotopic         bool    `json:"retinotopic,omitempty"`          // the reference's retinotopic models: not supported
	SemanticScale       float64 `json:"semantic_scale,omitempty"`       // weight of the retinotopic models' semantic loss (only with retinotopic)

	// Several recordings, one model (recordings.go). Absent, a run is the reference's: one
	// recording, the dense readout.
	Readout       string          `json:"readout,omitempty"`        // "dense" (the reference's; default) or "factorised" (spatial mask × channel weights per cell)
	Recordings    []RecordingSpec `json:"recordings,omitempty"`     // train one core on these recordings, with a readout each
	FromRun       string          `json:"from_run,omitempty"`       // start the core from this run folder's best checkpoint (fine-tuning)
	ReadoutOnly   bool            `json:"readout_only,omitempty"`   // with from_run: train the readouts only, the core frozen
	UnfreezeAfter int             `json:"unfreeze_after,omitempty"` // with readout_only: train the core too after this many epochs (0: never)
	CoreBNStats   string          `json:"core_bn_stats,omitempty"`  // with several recordings: the core's batch-norm running statistics per recording ("recording", default) or shared ("shared", as before session 8)

	// GainControl adds a divisive contrast gain-control stage after the first hidden layer's
	// batch norm (nn.ModelConfig.GainControl; CNNs only). Absent or false: the reference's model.
	// Such a model has no PyTorch state dict (export refuses it).
	GainControl bool `json:"gain_control,omitempty"`
}

// DefaultConfig is the reference's published BNCNN setting on real data (50×50 pixels,
// 40-frame history).
func DefaultConfig() Config {
	return Config{
		ExpName: "bncnn", ModelType: "BNCNN", Dataset: "sim-paper", StimType: "naturalscene",
		LossFxn: "PoissonNLLLoss", BatchSize: 512, NEpochs: 50, LR: 1e-3, L1: 1e-4, L2: 1e-2,
		Noise: 0.05, BNMoment: 0.01, Chans: []int{8, 8}, KSizes: []int{15, 11},
		ImgShape: []int{40, 50, 50}, Seed: 0, Scheduler: "ReduceLROnPlateau",
		SchedulerPatience: 5, SchedulerFactor: 0.5, EarlyStopping: 10, SimSeed: 1,
	}
}

// SmallConfig is the CPU default, the README's main job: the simulated "small" retina (20×20
// pixels) with the reference's 40-frame history and kernels scaled to the field, sized to train
// in about a minute on two cores with XLA's CPU engine. The CNN then reaches the retina's
// reliability ceiling while the LN baseline stays well below it.
func SmallConfig() Config {
	c := DefaultConfig()
	c.ExpName = "bncnn-small"
	c.Dataset = "sim-small"
	c.ImgShape = []int{40, 20, 20}
	c.KSizes = []int{9, 7}
	c.BatchSize = 64
	c.NEpochs = 8
	c.LR = 2e-3
	c.L1 = 1e-5
	c.L2 = 1e-3
	c.SchedulerPatience = 2
	c.EarlyStopping = 4
	return c
}

// ConfigError is an error about one configuration key, so that a caller can say where the
// key's value came from (the user's file, a --ranges file, or a default).
type ConfigError struct {
	Key string // the JSON key, e.g. "batch_size"
	Msg string // what is wrong with its value
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Msg }

// Errorf returns a *ConfigError about key, its message formatted as fmt.Sprintf does: also for
// the checks outside this package that find a key at fault (the config against its data, a
// from_run's core).
func Errorf(key, format string, args ...any) error {
	return &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// ConfigKeys lists the JSON keys Config accepts, sorted.
func ConfigKeys() []string { return configKeys() }

// configKeys lists the JSON keys Config accepts, for error messages.
func configKeys() []string {
	var keys []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	return keys
}

// ParseConfig reads a hyper-parameter JSON object over base (keys absent from the JSON keep
// base's values). An unknown key is an error that lists the valid ones.
func ParseConfig(data []byte, base Config) (Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, fmt.Errorf("not a JSON object: %w", err)
	}
	valid := configKeys()
	for k := range raw {
		if !slices.Contains(valid, k) {
			return Config{}, fmt.Errorf("unknown key %q; valid keys: %s", k, strings.Join(valid, ", "))
		}
	}
	cfg := base
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			want, got := jsonTypeWords(te.Type), jsonValueWords(te.Value)
			if ft := configFieldType(te.Field); ft != nil && ft.Kind() == reflect.Slice && ft.Elem() == te.Type {
				want, got = jsonTypeWords(ft), got+" in it"
			}
			return Config{}, Errorf(te.Field, "expected %s, got %s", want, got)
		}
		return Config{}, fmt.Errorf("bad value: %w", err)
	}
	cfg.canonicalize()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// LoadConfig reads and validates a hyper-parameter file over base.
func LoadConfig(path string, base Config) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg, err := ParseConfig(data, base)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// jsonTypeWords names what a JSON value must be to fill a field of Go type t.
func jsonTypeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Uint64, reflect.Uint:
		return "an integer ≥ 0"
	case reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(jsonTypeWords(t.Elem()), "an "), "a ") + "s"
	}
	return "another kind of value"
}

// configFieldType is the Go type of the Config field with JSON key key (nil if none).
func configFieldType(key string) reflect.Type {
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if strings.Split(t.Field(i).Tag.Get("json"), ",")[0] == key {
			return t.Field(i).Type
		}
	}
	return nil
}

// jsonValueWords describes the offending JSON value as encoding/json reports it ("string",
// "number -1", …).
func jsonValueWords(v string) string {
	if num, ok := strings.CutPrefix(v, "number "); ok {
		return "the number " + num
	}
	return "a " + v
}

// validFolderName reports whether s can be one folder under --out: not empty, not "." or "..",
// and no path separator or NUL.
func validFolderName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}

// ReferenceModelType is the reference's model_type name ("BNCNN", "LinearStackedBNCNN", "LN")
// of an nn.ModelConfig.Type; "" for a type it does not name.
func ReferenceModelType(modelType string) string { return referenceModelType[modelType] }

// referenceModelType is the reference's model_type name of each ModelConfig.Type.
var referenceModelType = map[string]string{nn.ModelBNCNN: "BNCNN", nn.ModelLinearStacked: "LinearStackedBNCNN", nn.ModelLN: "LN"}

// modelTypes maps the reference's model_type names (case-insensitive) to ModelConfig.Type.
var modelTypes = map[string]string{"bncnn": "bncnn", "linearstackedbncnn": "linearstacked", "linearstacked": "linearstacked", "ln": "ln"}

// Validate checks every field and names the first bad one (a *ConfigError).
func (c Config) Validate() error {
	if !validFolderName(c.ExpName) {
		return Errorf("exp_name", "%q is not a single folder name (the run is written to <out>/<exp_name>: not empty, not . or .., no / or \\)", c.ExpName)
	}
	mtype, ok := modelTypes[strings.ToLower(c.ModelType)]
	if !ok {
		return Errorf("model_type", "%q is not one of BNCNN, LinearStackedBNCNN, LN", c.ModelType)
	}
	if c.StimType != "whitenoise" && c.StimType != "naturalscene" {
		return Errorf("stim_type", "%q is not whitenoise or naturalscene", c.StimType)
	}
	if c.LossFxn != "" && c.LossFxn != "PoissonNLLLoss" && c.LossFxn != "poisson" {
		return Errorf("lossfxn", "%q is not supported (only PoissonNLLLoss)", c.LossFxn)
	}
	if err := c.validateReferenceKeys(); err != nil {
		return err
	}
	if err := c.validateRecordings(mtype); err != nil {
		return err
	}
	checks := []struct {
		ok   bool
		name string
		want string
	}{
		{c.BatchSize > 0, "batch_size", "a positive integer"},
		// Batch norm estimates a variance over the batch (models other than LN).
		{c.BatchSize >= 2 || mtype == nn.ModelLN, "batch_size", "at least 2: the batch norm layers of " + c.ModelType + " estimate a variance from each batch"},
		{c.NEpochs > 0, "n_epochs", "a positive integer"},
		{c.LR > 0, "lr", "a positive number"},
		{c.L1 >= 0, "l1", "≥ 0"},
		{c.L2 >= 0, "l2", "≥ 0"},
		{c.Noise >= 0, "noise", "≥ 0"},
		{c.BNMoment > 0 && c.BNMoment <= 1, "bn_moment", "in (0, 1]"},
		{len(c.ImgShape) == 3 && c.ImgShape[0] > 0 && c.ImgShape[1] > 0 && c.ImgShape[2] > 0, "img_shape", "[history, H, W], all positive"},
		{len(c.Chans) == 2 && c.Chans[0] > 0 && c.Chans[1] > 0, "chans", "two positive channel counts"},
		{len(c.KSizes) == 2 && c.KSizes[0] > 0 && c.KSizes[1] > 0, "ksizes", "two positive kernel sizes"},
		{c.Scheduler == "" || c.Scheduler == "none" || c.Scheduler == "ReduceLROnPlateau" || c.Scheduler == "MultiStepLR", "scheduler", "ReduceLROnPlateau, MultiStepLR or none"},
		{c.SchedulerPatience >= 0, "scheduler_patience", "≥ 0"},
		{(c.Scheduler != "ReduceLROnPlateau" && c.Scheduler != "MultiStepLR") || (c.SchedulerFactor > 0 && c.SchedulerFactor < 1), "scheduler_factor", "in (0, 1)"},
		{c.EarlyStopping >= 0, "early_stopping", "≥ 0"},
		{c.MaxTrainWindows >= 0, "max_train_windows", "≥ 0"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return Errorf(ch.name, "expected %s", ch.want)
		}
	}
	for _, id := range c.Cells.IDs {
		if id < 0 {
			return Errorf("cells", "index %d is negative", id)
		}
	}
	if c.GainControl && mtype == nn.ModelLN {
		return Errorf("gain_control", "true needs a CNN (model_type BNCNN or LinearStackedBNCNN): the stage divides the first hidden layer, which model_type %q does not have", c.ModelType)
	}
	if mtype != nn.ModelLN {
		if err := c.checkKernels(mtype); err != nil {
			return err
		}
	}
	if err := c.ModelConfig(max(1, len(c.CellIDs()))).Validate(); err != nil {
		return fmt.Errorf("model: %w", err) // unreachable after the checks above; kept as a backstop
	}
	return nil
}

// checkKernels checks in the config's terms what ModelConfig.Validate would: each kernel fits
// the frame (valid convolutions shrink it), and stacked models need odd kernels ≥ 3.
func (c Config) checkKernels(mtype string) error {
	h, w := c.ImgShape[1], c.ImgShape[2]
	for i, k := range c.KSizes {
		layer := []string{"first", "second"}[i]
		if mtype == nn.ModelLinearStacked && (k < 3 || k%2 == 0) {
			return Errorf("ksizes", "%d (%s layer): LinearStackedBNCNN stacks 3×3 convolutions, so kernel sizes must be odd and ≥ 3", k, layer)
		}
		if k > h || k > w {
			if i == 0 {
				return Errorf("ksizes", "%d (first layer) is larger than the %d×%d frame of img_shape", k, h, w)
			}
			return Errorf("ksizes", "%d (second layer) is larger than the %d×%d output of the first layer", k, h, w)
		}
		h, w = h-k+1, w-k+1
	}
	return nil
}

// ModelConfig is the architecture this run trains, for nCells output cells.
func (c Config) ModelConfig(nCells int) nn.ModelConfig {
	m := nn.ModelConfig{
		Type:       modelTypes[strings.ToLower(c.ModelType)],
		NCells:     nCells,
		ImgShape:   [3]int{c.ImgShape[0], c.ImgShape[1], c.ImgShape[2]},
		Chans:      slices.Clone(c.Chans),
		KSizes:     slices.Clone(c.KSizes),
		Noise:      c.Noise,
		BNMomentum: c.BNMoment,
		BNEps:      1e-3,
	}
	if m.IsCNN() {
		m.DenseBias = c.GCBias
		m.NoConvBias = c.Bias != nil && !*c.Bias
		m.ExpOutput = c.Softplus != nil && !*c.Softplus
		m.Readout = c.Readout
		m.GainControl = c.GainControl
		if m.Type == nn.ModelLinearStacked {
			m.DropP = c.DropP
		}
	}
	return m
}
