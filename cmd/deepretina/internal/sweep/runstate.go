package sweep

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/internal/results"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// What a run folder and the sweep's notes say about one combination: finished and evaluated,
// or failed and why.

// FailedPath is where a sweep records why a combination failed (beside its log).
func FailedPath(out, expName string) string {
	return filepath.Join(out, outputs.LogsDir, expName+outputs.FailedSuffix)
}

// RecordFailure notes a combination's failure for `sweep status`, when out holds a sweep.
func RecordFailure(out, expName string, runErr error) {
	if _, err := os.Stat(filepath.Join(out, outputs.PlanFile)); err != nil {
		return
	}
	host, _ := os.Hostname()
	msg := fmt.Sprintf("%s on %s (pid %d): %v\n", time.Now().Format(time.DateTime), host, os.Getpid(), runErr)
	if id := os.Getenv("SLURM_JOB_ID"); id != "" {
		msg = "Slurm job " + id + ", " + msg
	}
	_ = fsutil.WriteFileAtomic(FailedPath(out, expName), []byte(msg))
}

// Finished reports whether the run in runDir is complete for cfg — trained to its end (with
// its LN baseline when withLN) and evaluated since — and returns the scores of its eval.json.
// A run of several recordings trains no LN baseline (each recording is scored against a ridge
// LN fitted to its own training data), so withLN asks for none there.
func Finished(runDir string, cfg runconfig.Config, withLN bool) (*EvalSummary, bool) {
	stamp, ok := finishedAt(runDir, cfg)
	if !ok {
		return nil, false
	}
	if withLN && !strings.EqualFold(cfg.ModelType, "LN") && !cfg.MultiRecording() {
		lnCfg := cfg
		lnCfg.ModelType, lnCfg.ExpName = "LN", cfg.ExpName+"-ln"
		lnStamp, ok := finishedAt(filepath.Join(runDir, "ln"), lnCfg)
		if !ok {
			return nil, false
		}
		stamp = max(stamp, lnStamp)
	}
	path := filepath.Join(runDir, outputs.EvalFile)
	fi, err := os.Stat(path)
	if err != nil || fi.ModTime().UnixNano() < stamp {
		return nil, false
	}
	ev, err := readEvalSummary(path)
	if err != nil {
		return nil, false
	}
	return ev, true
}

// finishedAt returns the time the run's description was written, if it says the run ended.
func finishedAt(runDir string, cfg runconfig.Config) (int64, bool) {
	meta, fi, err := readRunMeta(runDir)
	if err != nil || meta.Stopped == "" || (meta.Stopped == "completed" && meta.Epoch < cfg.NEpochs) {
		return 0, false
	}
	a, b := meta.Config, cfg
	a.NEpochs, b.NEpochs = 0, 0
	if !reflect.DeepEqual(a, b) {
		return 0, false
	}
	return fi.ModTime().UnixNano(), true
}

func readRunMeta(runDir string) (*retina.RunMeta, os.FileInfo, error) {
	path := filepath.Join(runDir, outputs.RunDescriptor)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	meta, err := retina.ParseMeta(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return meta, fi, nil
}

// EvalSummary is the part of eval.json a results row needs; null scores read as NaN. For a
// run of several recordings the scores are the means over them, and Recordings holds each
// one's (their Dataset is not in eval.json: recordResults fills it from the config).
type EvalSummary struct {
	CNNPearsonMean, LNPearsonMean, CeilingMean, FEVMean float64
	Recordings                                          []results.Recording
}

func readEvalSummary(path string) (*EvalSummary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// eval.json's top-level scores have the keys of a results.Recording, whose decoder reads
	// null as NaN; a multi-recording run's eval.json also lists each recording's scores.
	var top results.Recording
	var multi struct {
		Recordings []results.Recording `json:"recordings"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(data, &multi); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &EvalSummary{top.CNNPearsonMean, top.LNPearsonMean, top.CeilingMean, top.FEVMean, multi.Recordings}, nil
}
