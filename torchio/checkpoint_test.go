package torchio

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/numpy"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/internal/torchpickle"
	"github.com/deepretina/deepretina/retina/nn"
)

// Checkpoints and golden outputs written by scripts/torch_checkpoints.py (PyTorch 1.13).
const torchTestdata = "testdata/torch"

func torchGolden(t *testing.T) map[string]*tensors.Tensor {
	t.Helper()
	g, err := numpy.FromNpzFile(filepath.Join(torchTestdata, "golden.npz"))
	if err != nil {
		t.Fatalf("reading golden file (regenerate with /usr/bin/python3 scripts/torch_checkpoints.py): %v", err)
	}
	return g
}

// torchCases lists the checkpoints that have golden outputs.
func torchCases(t *testing.T, g map[string]*tensors.Tensor) []string {
	var names []string
	for k := range g {
		if name, ok := strings.CutSuffix(k, ".x_int8"); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) < 10 {
		t.Fatalf("golden file holds %d cases", len(names))
	}
	return names
}

// goldenInput decodes <case>.x_int8 (values on a 1/16 grid).
func goldenInput(t *testing.T, g map[string]*tensors.Tensor, name string) *tensors.Tensor {
	q := g[name+".x_int8"]
	var x []float32
	tensors.MustConstFlatData[int8](q, func(flat []int8) {
		x = make([]float32, len(flat))
		for i, v := range flat {
			x[i] = float32(v) / 16
		}
	})
	return tensors.FromFlatDataAndDimensions(x, q.Shape().Dimensions...)
}

// TestTorchCheckpointParity imports every reference checkpoint (BNCNN and LinearStackedBNCNN,
// zip and legacy formats, the newest and an older module order, sigma and cuda_param noise,
// dense bias, exponential output, no conv bias, stack dropout, one reference-size model) and
// compares the Go model's eval-mode output with PyTorch's.
func TestTorchCheckpointParity(t *testing.T) {
	g := torchGolden(t)
	backend := testBackend()
	for _, name := range torchCases(t, g) {
		t.Run(name, func(t *testing.T) {
			c, err := LoadCheckpoint(filepath.Join(torchTestdata, name+".pt"))
			if err != nil {
				t.Fatal(err)
			}
			wantFormat := torchpickle.FormatZip
			if strings.Contains(name, "legacy") {
				wantFormat = torchpickle.FormatLegacy
			}
			wantOrder := "newest"
			if strings.Contains(name, "older") || strings.Contains(name, "linearstacked_gcbias") {
				wantOrder = "older"
			}
			wantNoise := "sigma"
			if strings.Contains(name, "cudaparam") || strings.Contains(name, "linearstacked_gcbias") {
				wantNoise = "cuda_param"
			}
			if c.Format != wantFormat || c.ModuleOrder != wantOrder || c.NoiseParam != wantNoise {
				t.Errorf("format %s, order %s, noise %s; want %s, %s, %s", c.Format, c.ModuleOrder, c.NoiseParam, wantFormat, wantOrder, wantNoise)
			}
			m := c.Model
			wantType := nn.ModelBNCNN
			if strings.HasPrefix(name, "linearstacked") {
				wantType = nn.ModelLinearStacked
			}
			if m.Type != wantType || m.DenseBias != strings.Contains(name, "gcbias") ||
				m.ExpOutput != strings.Contains(name, "_exp") || m.NoConvBias != strings.Contains(name, "nobias") ||
				(m.DropP > 0) != strings.Contains(name, "dropout") {
				t.Errorf("model %+v does not match case %s", m, name)
			}
			x := goldenInput(t, g, name)
			if want := x.Shape().Dimensions[1:]; !slices.Equal(m.ImgShape[:], want) {
				t.Errorf("model input %v, golden input %v", m.ImgShape, want)
			}
			meta := testutil.Float64s(t, g[name+".meta"])
			if testutil.RelErr([]float64{c.NormStats.Mean, c.NormStats.Std}, meta[:2]) > 1e-12 || c.Epoch != int(meta[2]) ||
				c.Scores["val_acc"] != meta[3] || c.Scores["test_pearson"] != meta[4] || c.LR != meta[5] {
				t.Errorf("norm stats %+v, epoch %d, scores %v, lr %g; want %v", c.NormStats, c.Epoch, c.Scores, c.LR, meta)
			}
			if len(c.SHA256) != 64 || c.Hyps["dataset"] != "15-10-07" || c.Hyps["cells"] != "all" {
				t.Errorf("sha256 %q, hyps %v", c.SHA256, c.Hyps)
			}

			ctx := model.NewStore().RootScope()
			if err := c.Import(ctx); err != nil {
				t.Fatal(err)
			}
			out, err := model.CallOnce(backend, ctx.Store(), func(ctx *model.Scope, x *graph.Node) *graph.Node {
				return nn.Forward(ctx, m, x).Rates
			}, x)
			if err != nil {
				t.Fatal(err)
			}
			got, want := testutil.Float64s(t, out), testutil.Float64s(t, g[name+".rates"])
			t.Logf("%s: rel err %.3g", name, testutil.RelErr(got, want))
			if e := parityErr(got, want, parityAtol); e > parityTol {
				t.Errorf("eval rates: rel err %g > %g\ngot  %v\nwant %v", e, parityTol, got, want)
			}

			// Export writes the newest module order: for a newest-order file, the file's own
			// names, values and all.
			exported, err := ExportStateDict(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if wantOrder == "newest" {
				assertStateDictsEqual(t, exported, c.StateDict())
			} else {
				shapes, _ := StateDictShapes(m)
				for k, s := range shapes {
					if e, ok := exported[k]; !ok || !slices.Equal(e.Shape().Dimensions, s) {
						t.Errorf("export lacks %s %v", k, s)
					}
				}
			}
		})
	}
}

// TestTorchCheckpointBadInputs: every malformed file gives one error that names the file and
// what was wrong.
func TestTorchCheckpointBadInputs(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(torchTestdata, "bncnn_newest_zip.pt"))
	if err != nil {
		t.Fatal(err)
	}
	goodLegacy, err := os.ReadFile(filepath.Join(torchTestdata, "bncnn_newest_legacy.pt"))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := slices.Clone(good)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] ^= 0x5a
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	testdata := func(name string) string { return filepath.Join(torchTestdata, "bad_"+name+".pt") }
	cases := []struct {
		name  string
		path  string
		wants []string
	}{
		{"empty file", write("empty.pt", nil), []string{"empty file"}},
		{"not a pickle", write("text.pt", []byte("hello, I am not a checkpoint\n")), []string{"not a PyTorch file"}},
		{"a plain JSON file", write("hp.pt", []byte(`{"lr": 0.1}`)), []string{"not a PyTorch file"}},
		{"truncated zip", write("trunc.pt", good[:len(good)/2]), []string{"zip"}},
		{"truncated legacy", write("trunc_legacy.pt", goodLegacy[:len(goodLegacy)-100]), []string{"legacy format", "truncated"}},
		{"legacy cut in its pickle", write("trunc_legacy2.pt", goodLegacy[:300]), []string{"legacy format"}},
		{"corrupt zip", write("corrupt.pt", corrupt), []string{"checksum"}},
		{"a pickle that is not torch.save's", write("pickle.pt", []byte("\x80\x02K\x05.")), []string{"not a PyTorch file", "magic number"}},
		{"unknown model_type", testdata("unknown_model_type"), []string{`"model_type"`, "RetinotopicModel", "supported: BNCNN, LN, LinearStackedBNCNN"}},
		{"missing model_type", testdata("missing_model_type"), []string{`"model_type" is missing`, "model_state_dict", "supported model types"}},
		{"missing state dict", testdata("missing_state_dict"), []string{`"model_state_dict" is missing`, "norm_stats"}},
		{"missing norm stats", testdata("missing_norm_stats"), []string{`"norm_stats" is missing`}},
		{"not a dict", testdata("not_a_dict"), []string{"checkpoint dict", "a list of 3 items"}},
		{"state dict not a dict", testdata("state_dict_not_a_dict"), []string{`"model_state_dict"`, "expected a dict of tensors"}},
		{"per-channel batch norm", testdata("batchnorm2d"), []string{`"model_state_dict"`, "module sequential.1", "running_mean [2]", "BatchNorm2d", "bnorm_d=2", "not supported"}},
		{"batch norm inside a stack", testdata("stack_with_bnorm"), []string{"sequential.0", "batch norm inside the linear stack", "not supported"}},
		{"batch norm of the wrong size", testdata("wrong_bn_shape"), []string{"module sequential.2", "different sizes"}},
		{"conv weight not 4-D", testdata("conv_weight_3d"), []string{"module sequential.0", "weight [2 2 3]", "rank 3"}},
		{"img_shape disagrees", testdata("img_shape_mismatch"), []string{"module sequential.2", "img_shape [2 7 7]", "size 32"}},
		{"BNCNN weights, LinearStacked type", testdata("bncnn_as_linearstacked"), []string{"model_type LinearStackedBNCNN", "LinearStackedConv2d", "sequential.0"}},
		{"an extra module", testdata("extra_module"), []string{"two dense layers", "sequential.13", "sequential.16"}},
		{"missing file", filepath.Join(dir, "none.pt"), []string{"no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadCheckpoint(c.path)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.path) {
				t.Errorf("error does not name the file %s: %v", c.path, msg)
			}
			for _, w := range c.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not mention %q: %v", w, msg)
				}
			}
		})
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	for _, name := range []string{"bad_missing_norm_stats.pt", "bad_not_a_dict.pt", "bad_state_dict_not_a_dict.pt"} {
		if data, err := os.ReadFile(filepath.Join(torchTestdata, name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01u."))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCheckpoint(data)
		if err != nil {
			return
		}
		// Anything accepted is a valid model with its weights and usable norm stats.
		if err := c.Model.Validate(); err != nil {
			t.Fatalf("accepted an invalid model: %v", err)
		}
		if !(c.NormStats.Std > 0) {
			t.Fatalf("accepted norm stats %+v", c.NormStats)
		}
		if err := c.Import(model.NewStore().RootScope()); err != nil {
			t.Fatalf("accepted a checkpoint whose weights do not import: %v", err)
		}
	})
}
