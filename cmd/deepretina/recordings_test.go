package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/internal/results"
)

// TestMultiRecordingCommandLine drives the multi-recording workflow as a user would: simulate
// retinas of three seeds side by side (simulate --seed --name), train one core on two of them
// from one config, score each, then fit the third's readout on the frozen core (train --from
// --readout-only) and use it without naming it.
func TestMultiRecordingCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: simulates three retinas and trains two runs; runs in the full tier, scripts/test.sh")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, s := range []string{"1", "2", "3"} {
		if out, err := run(t, "simulate", "--out", data, "--seed", s, "--name", "ret"+s, "--stim", "whitenoise"); err != nil {
			t.Fatalf("simulate seed %s: %v\n%s", s, err, out)
		}
	}
	cfg := filepath.Join(dir, "multi.json")
	body := `{"exp_name": "core", "dataset": "ret1", "stim_type": "whitenoise", "datapath": "` + data + `",
	  "img_shape": [20, 20, 20], "ksizes": [9, 7], "chans": [4, 4], "batch_size": 32, "n_epochs": 1,
	  "max_train_windows": 256, "readout": "factorised", "recordings": ["ret1", {"name": "second", "dataset": "ret2"}]}`
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "runs")
	out, err := run(t, "train", "--config", cfg, "--out", runs)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	core := filepath.Join(runs, "core")
	for _, name := range []string{"ret1", "second"} {
		if !strings.Contains(out, "recording "+name) {
			t.Errorf("train's output has no table for recording %s:\n%s", name, out)
		}
		if _, err := os.Stat(filepath.Join(core, "eval-"+name+".json")); err != nil {
			t.Errorf("no scores of recording %s: %v", name, err)
		}
	}
	var summary struct {
		CNN        *float64 `json:"cnn_pearson_mean"`
		Recordings []struct {
			Name string  `json:"name"`
			CNN  float64 `json:"cnn_pearson_mean"`
		} `json:"recordings"`
	}
	readJSON(t, filepath.Join(core, "eval.json"), &summary)
	if summary.CNN == nil || len(summary.Recordings) != 2 || summary.Recordings[1].Name != "second" ||
		*summary.CNN != (summary.Recordings[0].CNN+summary.Recordings[1].CNN)/2 {
		t.Errorf("eval.json of the run: %+v", summary)
	}
	// Commands that use a run ask which recording of several, listing them.
	if out, err := run(t, "eval", "--run", core); err == nil || !strings.Contains(out, "--recording") || !strings.Contains(out, "ret1, second") {
		t.Errorf("eval of a run of two recordings without --recording: %v\n%s", err, out)
	}
	if out, err := run(t, "eval", "--run", core, "--recording", "second"); err != nil || !strings.Contains(out, "eval-second.json") {
		t.Errorf("eval --recording second: %v\n%s", err, out)
	}
	if out, err := run(t, "export", "--run", core, "--recording", "ret1", "--out", filepath.Join(dir, "x.npz")); err == nil ||
		!strings.Contains(out, "factorised readout has no PyTorch state dict") {
		t.Errorf("export of a factorised readout: %v\n%s", err, out)
	}

	// The third retina's readout on the frozen core.
	fine := filepath.Join(dir, "fine.json")
	body = strings.Replace(strings.Replace(body, `"exp_name": "core"`, `"exp_name": "fine"`, 1),
		`"recordings": ["ret1", {"name": "second", "dataset": "ret2"}]`, `"recordings": ["ret3"]`, 1)
	if err := os.WriteFile(fine, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "train", "--config", fine, "--out", runs, "--readout-only"); err == nil || !strings.Contains(out, "--readout-only: readout_only: needs from_run") {
		t.Errorf("--readout-only without --from: %v\n%s", err, out)
	}
	if out, err := run(t, "train", "--config", fine, "--out", runs, "--from", core, "--readout-only"); err != nil {
		t.Fatalf("train --from --readout-only: %v\n%s", err, out)
	}
	var meta struct {
		Config struct {
			FromRun     string `json:"from_run"`
			ReadoutOnly bool   `json:"readout_only"`
		} `json:"config"`
		CoreRecordings []struct {
			Run, Name string
		} `json:"core_recordings"`
	}
	readJSON(t, filepath.Join(runs, "fine", "run.json"), &meta)
	if meta.Config.FromRun != core || !meta.Config.ReadoutOnly || len(meta.CoreRecordings) != 2 ||
		meta.CoreRecordings[1].Name != "second" || meta.CoreRecordings[1].Run != core {
		t.Errorf("fine-tuned run description: %+v", meta)
	}
	if out, err := run(t, "eval", "--run", filepath.Join(runs, "fine")); err != nil || !strings.Contains(out, "eval-ret3.json") {
		t.Errorf("eval of a run of one recording: %v\n%s", err, out)
	}
}

// TestSweepOverMultiRecordingCore runs a sweep over a core's hyper-parameter (two channel
// counts) of a config of two recordings, locally with two workers and without --no-ln, as
// docs/multirecording.md promises: "sweep" trains it unchanged, "sweep status" shows each
// combination's scores on each recording (its eval-<name>.json) and results.csv and
// results.json hold them; run again, the finished sweep trains nothing.
func TestSweepOverMultiRecordingCore(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: simulates two retinas and trains a sweep of two runs; runs in the full tier, scripts/test.sh")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, s := range []string{"1", "2"} {
		// 30 s of training stimulus (the test set keeps its repeats): a smaller file to simulate,
		// hash and fit the ridge LN of, for a test of the sweep's plumbing, not of the scores.
		if out, err := run(t, "simulate", "--out", data, "--seed", s, "--name", "ret"+s, "--stim", "whitenoise", "--train-seconds", "30"); err != nil {
			t.Fatalf("simulate seed %s: %v\n%s", s, err, out)
		}
	}
	cfg := filepath.Join(dir, "multi.json")
	writeFile(t, cfg, `{"exp_name": "core", "dataset": "ret1", "stim_type": "whitenoise", "datapath": "`+data+`",
	  "img_shape": [20, 20, 20], "ksizes": [9, 7], "chans": [4, 4], "batch_size": 32, "n_epochs": 1,
	  "max_train_windows": 128, "readout": "factorised", "recordings": ["ret1", {"name": "second", "dataset": "ret2"}]}`)
	ranges := filepath.Join(dir, "ranges.json")
	writeFile(t, ranges, `{"chans": [[2, 2], [3, 3]]}`)
	out := filepath.Join(dir, "sweep")
	args := []string{"sweep", "--ranges", ranges, "--config", cfg, "--out", out, "--local", "2"}
	if text, err := run(t, args...); err != nil {
		t.Fatalf("sweep --local 2: %v\n%s", err, text)
	}
	names := []string{"core_chans=2x2", "core_chans=3x3"}
	recs := []string{"ret1", "second"}

	// Each run's scores on each recording, as its eval-<name>.json gives them.
	type scores struct {
		CNN, LN, Ceiling, FEV float64
	}
	perRec := map[string]scores{} // "run/recording"
	for _, name := range names {
		for _, rec := range recs {
			var ev struct {
				CNN     float64 `json:"cnn_pearson_mean"`
				LN      float64 `json:"ln_pearson_mean"`
				Ceiling float64 `json:"ceiling_mean"`
				FEV     float64 `json:"fev_mean"`
			}
			readJSON(t, filepath.Join(out, name, "eval-"+rec+".json"), &ev)
			perRec[name+"/"+rec] = scores{ev.CNN, ev.LN, ev.Ceiling, ev.FEV}
		}
	}

	// sweep status: both done, each followed by a line per recording with that recording's scores.
	status, err := run(t, "sweep", "status", out)
	if err != nil {
		t.Fatalf("sweep status: %v\n%s", err, status)
	}
	t.Logf("sweep status %s:\n%s", out, status)
	if !strings.Contains(status, "2 done, 0 running, 0 failed, 0 not started") {
		t.Errorf("sweep status does not count both combinations done:\n%s", status)
	}
	lines := strings.Split(status, "\n")
	for _, name := range names {
		at := slices.IndexFunc(lines, func(l string) bool { return slices.Contains(strings.Fields(l), name) })
		if at < 0 || len(lines) < at+3 {
			t.Errorf("sweep status has no line of %s:\n%s", name, status)
			continue
		}
		for i, rec := range recs {
			s := perRec[name+"/"+rec]
			want := []string{"recording", rec, fmt.Sprintf("%.3f", s.CNN), fmt.Sprintf("%.3f", s.LN), fmt.Sprintf("%.3f", s.Ceiling),
				fmt.Sprintf("%.3f", s.FEV), "eval-" + rec + ".json"}
			if got := strings.Fields(lines[at+1+i]); !slices.Equal(got, want) {
				t.Errorf("sweep status, line %d after %s: got %q, want the fields %q:\n%s", i+1, name, lines[at+1+i], want, status)
			}
		}
	}

	// results.csv: one row per combination, the means over the recordings and each one's CNN r.
	f, err := os.Open(filepath.Join(out, results.CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(records[0], name) }
	if col("recording_cnn_pearson") < 0 || len(records) != 3 {
		t.Fatalf("results.csv: want a recording_cnn_pearson column and a row per combination:\n%v", records)
	}
	for _, row := range records[1:] {
		name := row[col("exp_name")]
		if !slices.Contains(names, name) {
			t.Errorf("results.csv: a row for %q", name)
			continue
		}
		want := fmt.Sprintf("ret1=%.4f;second=%.4f", perRec[name+"/ret1"].CNN, perRec[name+"/second"].CNN)
		if got := row[col("recording_cnn_pearson")]; got != want {
			t.Errorf("results.csv, %s: recording_cnn_pearson %q, want %q", name, got, want)
		}
		mean := (perRec[name+"/ret1"].CNN + perRec[name+"/second"].CNN) / 2
		if got := row[col("cnn_pearson_mean")]; got != fmt.Sprintf("%.4f", mean) || row[col("dataset")] != "ret1+ret2" {
			t.Errorf("results.csv, %s: cnn_pearson_mean %s on %s, want %.4f (the mean over its recordings) on ret1+ret2", name, got, row[col("dataset")], mean)
		}
	}
	rows, err := results.Read(out)
	if err != nil || len(rows) != 2 {
		t.Fatalf("results.json: %v, %d rows", err, len(rows))
	}
	for _, r := range rows {
		var got []string
		for _, rec := range r.Recordings {
			s := perRec[r.ExpName+"/"+rec.Name]
			got = append(got, rec.Name+" "+rec.Dataset)
			if rec.CNNPearsonMean != s.CNN || rec.LNPearsonMean != s.LN || rec.CeilingMean != s.Ceiling || rec.FEVMean != s.FEV {
				t.Errorf("results.json, %s, recording %s: %+v; its eval-%s.json says %+v", r.ExpName, rec.Name, rec, rec.Name, s)
			}
		}
		if !slices.Equal(got, []string{"ret1 ret1", "second ret2"}) {
			t.Errorf("results.json, %s: recordings %q, want ret1 (ret1) and second (ret2)", r.ExpName, got)
		}
	}

	// Run again: every combination counts as finished (a multi-recording run has no LN run of
	// its own to wait for) and nothing trains.
	if text, err := run(t, args...); err != nil || !strings.Contains(text, "2 done, 0 running elsewhere, 0 to train") {
		t.Errorf("re-running the finished sweep: %v\n%s", err, text)
	}
}
