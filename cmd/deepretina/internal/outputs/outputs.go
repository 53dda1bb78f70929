package outputs

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// One rule for every command that writes: it never writes among a run's own files (run.json,
// checkpoints/, ln/, eval.json, the lock) or a runs folder's (results tables, sweep plan, logs),
// and never replaces a file that another command wrote. The kind of an existing file is read
// from its content, not its name, so that `phenomena --out RUNS` cannot replace train's
// RUNS/results.json and `export --out RUN/run.json` cannot replace a run's description.

// Names of the files and folders that train and sweep write in a runs folder and its run
// folders.
const (
	PlanFile      = "sweep.json"
	LogsDir       = "logs"
	FailedSuffix  = ".failed"
	EvalFile      = "eval.json"
	RunDescriptor = "run.json"
)

// FileKind names what a file holds and which command writes it.
type FileKind string

const (
	KindUnknown     FileKind = ""
	KindRunMeta     FileKind = "a run's description (run.json or a checkpoint's meta.json, written by deepretina train or import)"
	kindResults     FileKind = "the results table of deepretina train and sweep"
	kindSweepPlan   FileKind = "the plan of deepretina sweep"
	KindEval        FileKind = "the scores of deepretina eval"
	KindPhenomena   FileKind = "the results of deepretina phenomena"
	KindProbe       FileKind = "the results of deepretina probe"
	KindBenchJSON   FileKind = "the results of deepretina bench --json"
	KindNpz         FileKind = "weights exported by deepretina export (.npz)"
	KindNpy         FileKind = "a NumPy array (.npy)"
	KindReportHTML  FileKind = "the page of deepretina report"
	KindPhenHTML    FileKind = "the report.html of deepretina phenomena"
	KindProbeHTML   FileKind = "the report.html of deepretina probe"
	KindMarkdown    FileKind = "a Markdown file"
	KindHDF5        FileKind = "an HDF5 file (a recording or interneuron file)"
	kindTorch       FileKind = "a PyTorch checkpoint"
	kindLock        FileKind = "a lock file"
	PhenomenaKindID          = "deepretina.phenomena" // the "kind" field of phenomena's results.json
)

// runOwnFiles are the entries of a run folder that belong to the run: no other command
// writes there.
var runOwnFiles = map[string]string{
	"run.json":    "its description",
	"checkpoints": "its checkpoints",
	"ln":          "its LN baseline run",
	".lock":       "its lock",
	"eval.json":   "its scores (written by eval and train)",
}

// runsFolderFiles are the entries of a runs folder (train's or sweep's --out) that belong to
// train and sweep.
var runsFolderFiles = map[string]FileKind{
	"results.json":  kindResults,
	"results.csv":   kindResults,
	".results.lock": kindLock,
	PlanFile:        kindSweepPlan,
	"sweep.sbatch":  kindSweepPlan,
	".sweep.lock":   kindLock,
	LogsDir:         kindSweepPlan,
}

// IsRunFolder reports whether dir holds a run (train's or import's): run.json or checkpoints/.
func IsRunFolder(dir string) bool {
	if st, err := os.Stat(filepath.Join(dir, RunDescriptor)); err == nil && st.Mode().IsRegular() {
		return true
	}
	st, err := os.Stat(filepath.Join(dir, "checkpoints"))
	return err == nil && st.IsDir()
}

// isRunsFolder reports whether dir holds train's results table or a sweep's plan.
func isRunsFolder(dir string) bool {
	for _, name := range []string{"results.csv", PlanFile, ".results.lock"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return SniffKind(filepath.Join(dir, "results.json")) == kindResults
}

// Resolve returns path made absolute with the symbolic links of its existing part resolved, so
// that another spelling of a run's file is recognised.
func Resolve(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	var tail []string
	for p := abs; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{real}, tail...)...)
		}
		if filepath.Dir(p) == p {
			return abs
		}
		tail = append([]string{filepath.Base(p)}, tail...)
	}
}

// CheckNotAmongRunFiles refuses a path (given with flag) that lies among a run's or a runs
// folder's own files. own is the kind the command writes (a runs-folder file of that kind is
// its own).
func CheckNotAmongRunFiles(flag, path string, own FileKind) error {
	abs := Resolve(path)
	child := abs
	for dir := filepath.Dir(abs); ; child, dir = dir, filepath.Dir(dir) {
		entry := filepath.Base(child)
		if what, ok := runOwnFiles[entry]; ok && IsRunFolder(dir) && !(entry == "eval.json" && own == KindEval) {
			return fmt.Errorf("%s %s is among the files of the run %s (%s): writing there would damage the run; choose another %s, outside the run's own files (run.json, checkpoints/, ln/, eval.json)",
				flag, path, dir, what, flag)
		}
		if kind, ok := runsFolderFiles[entry]; ok && kind != own && isRunsFolder(dir) {
			return fmt.Errorf("%s %s is among the files of the runs folder %s (%s %s is %s): choose another %s",
				flag, path, dir, entry, map[bool]string{true: "folder", false: "file"}[entry == LogsDir], kind, flag)
		}
		if filepath.Dir(dir) == dir {
			return nil
		}
	}
}

// CheckOutputFile checks that path (given with flag) can be written as a file of kind own: it
// is not a folder, not among a run's own files, not a file of another kind (another command's
// output), and not one of the inputs (whatever the spelling: relative paths, symbolic links,
// hard links).
func CheckOutputFile(flag, path string, own FileKind, inputs map[string]string) error {
	if err := CheckNotAmongRunFiles(flag, path, own); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a new file cannot be an existing input
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s %s: is a folder; expected the path of a file to write", flag, path)
	}
	for inFlag, in := range inputs {
		if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
			return fmt.Errorf("%s %s is the file given to %s (%s): writing it would replace the input; choose another %s", flag, path, inFlag, in, flag)
		}
	}
	if kind := SniffKind(path); kind != KindUnknown && kind != own {
		return fmt.Errorf("%s %s already holds %s; this command writes %s and does not replace another's file: choose another %s",
			flag, path, kind, own, flag)
	}
	return nil
}

// CheckOutputDir checks an output folder (given with flag) and the files the command writes in
// it, name → kind: the folder is not among a run's files and is not a file, and each file
// passes checkOutputFile.
func CheckOutputDir(flag, dir string, files map[string]FileKind) error {
	if err := CheckNotAmongRunFiles(flag, filepath.Join(dir, "x"), KindUnknown); err != nil {
		return err
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("%s %s: is a file; expected a folder to write %s in", flag, dir, strings.Join(sortedKeys(files), " and "))
	}
	for _, name := range sortedKeys(files) {
		path := filepath.Join(dir, name)
		if err := CheckOutputFile(flag, path, files[name], nil); err != nil {
			if isRunsFolder(dir) && runsFolderFiles[name] != "" {
				return fmt.Errorf("%s %s: %s there is %s, which this command would replace; write into another folder (report looks in RUN/phenomena/ and RUN/probe/)",
					flag, dir, name, runsFolderFiles[name])
			}
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// SniffKind reads what an existing file holds; kindUnknown for a missing file or one no
// deepretina command writes.
func SniffKind(path string) FileKind {
	f, err := os.Open(path)
	if err != nil {
		return KindUnknown
	}
	defer f.Close()
	head := make([]byte, 2048)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	trimmed := bytes.TrimLeft(head, " \t\r\n\ufeff")
	switch {
	case bytes.HasPrefix(head, []byte("\x93NUMPY")):
		return KindNpy
	case bytes.HasPrefix(head, []byte("\x89HDF\r\n\x1a\n")):
		return KindHDF5
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return sniffZip(path)
	case len(head) > 1 && head[0] == 0x80 && head[1] <= 5: // a pickle: PyTorch's legacy format
		return kindTorch
	case len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '['):
		return sniffJSON(path)
	case bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<!doctype html")) || bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<html")):
		return htmlKind(head)
	case bytes.Contains(head, []byte("<!-- bench:")):
		return KindMarkdown
	}
	return KindUnknown
}

// htmlKind tells the pages of report, phenomena and probe apart by their titles (the
// commands' own prefixes); any other page is kindUnknown, which any command may replace.
func htmlKind(head []byte) FileKind {
	_, title, ok := bytes.Cut(head, []byte("<title>"))
	if !ok {
		return KindUnknown
	}
	for prefix, kind := range map[string]FileKind{"deepretina run ": KindReportHTML, "Retinal phenomena": KindPhenHTML, "Interneuron probe": KindProbeHTML} {
		if bytes.HasPrefix(title, []byte(prefix)) {
			return kind
		}
	}
	return KindUnknown
}

// sniffZip tells numpy's .npz (only .npy entries) from other zip files (a PyTorch checkpoint).
func sniffZip(path string) FileKind {
	r, err := zip.OpenReader(path)
	if err != nil {
		return KindUnknown
	}
	defer r.Close()
	for _, f := range r.File {
		if !strings.HasSuffix(f.Name, ".npy") {
			return kindTorch
		}
	}
	return KindNpz
}

// sniffJSON reads the kind of a JSON file from its keys.
func sniffJSON(path string) FileKind {
	data, err := ReadLimited(path, 256<<20)
	if err != nil {
		return KindUnknown
	}
	return jsonKind(data)
}

func ReadLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// jsonKind reads the kind of a deepretina JSON document from its keys.
func jsonKind(data []byte) FileKind {
	var list []map[string]json.RawMessage
	if json.Unmarshal(data, &list) == nil {
		if len(list) == 0 || list[0]["exp_name"] != nil {
			return kindResults
		}
		return KindUnknown
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return KindUnknown
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				return false
			}
		}
		return true
	}
	var kind string
	if raw, ok := obj["kind"]; ok && json.Unmarshal(raw, &kind) == nil {
		switch kind {
		case PhenomenaKindID:
			return KindPhenomena
		case "deepretina.probe":
			return KindProbe
		}
	}
	switch {
	case has("train_args", "runs"):
		return kindSweepPlan
	case has("format", "config", "model", "cell_ids"):
		return KindRunMeta
	case has("cnn_pearson_mean"):
		return KindEval
	case has("summary"):
		return KindProbe
	case has("compute", "machine"):
		return KindBenchJSON
	}
	// Phenomena results of older versions: an object of experiments, each with "reproduced".
	n := 0
	for _, v := range obj {
		var exp map[string]json.RawMessage
		if json.Unmarshal(v, &exp) != nil || exp["reproduced"] == nil {
			return KindUnknown
		}
		n++
	}
	if n > 0 {
		return KindPhenomena
	}
	return KindUnknown
}

// WithIdentity puts "kind", "run" and "checkpoint" first in a JSON object (a command's
// results), so that a reader can tell what the file is and which run it describes.
func WithIdentity(obj []byte, kind, run, checkpoint string) ([]byte, error) {
	body := bytes.TrimSpace(obj)
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("results: expected a JSON object")
	}
	head, err := json.Marshal(struct {
		Kind       string `json:"kind"`
		Run        string `json:"run"`
		Checkpoint string `json:"checkpoint"`
	}{kind, run, checkpoint})
	if err != nil {
		return nil, err
	}
	rest := bytes.TrimSpace(body[1:])
	var b bytes.Buffer
	b.Write(head[:len(head)-1])
	if rest[0] != '}' {
		b.WriteString(",\n  ")
	}
	b.Write(rest)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// CheckRunsFolder checks, before training, that train can record its scores in the runs
// folder out (given with flag): out is not a file, and its results.json, if any, is train's
// results table, not another command's file that recording would fail on after the training.
func CheckRunsFolder(flag, out string) error {
	if st, err := os.Stat(out); err == nil && !st.IsDir() {
		return fmt.Errorf("%s %s: is a file; expected the folder to train the runs in", flag, out)
	}
	if err := CheckNotAmongRunFiles(flag, filepath.Join(out, "results.json"), kindResults); err != nil {
		return err
	}
	path := filepath.Join(out, "results.json")
	if kind := SniffKind(path); kind != KindUnknown && kind != kindResults {
		return fmt.Errorf("%s %s: %s holds %s, not the results table train records its scores in; move it aside or train into another %s",
			flag, out, path, kind, flag)
	}
	return nil
}
