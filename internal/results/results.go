// Package results keeps the score table of a folder of runs: OUT/results.csv and
// OUT/results.json, one row per run (keyed by exp_name), written by any number of processes at
// once — the workers of a sweep, the tasks of a Slurm array — under a file lock.
//
// Recording a run that already has a row replaces that row in place, so re-running a finished
// sweep, or extending a run, never duplicates it; scores that are NaN are written as null in
// JSON and NaN in CSV.
//
//	err := results.Record(ctx, "runs", results.Row{ExpName: "bncnn_lr=0.001", CNNPearsonMean: 0.71, …})
//	rows, err := results.Read("runs")
package results

import (
	stdcontext "context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/internal/jsonnull"
	"github.com/deepretina/deepretina/internal/runlock"
)

// File names inside the runs folder.
const (
	CSVFile  = "results.csv"
	JSONFile = "results.json"
	lockFile = ".results.lock"
)

// Columns are results.csv's columns; results.json's rows have the same keys plus "config" and,
// for a run of several recordings, "recordings" in place of "recording_cnn_pearson".
var Columns = []string{"exp_name", "model_type", "dataset", "stim_type", "cnn_pearson_mean", "ln_pearson_mean", "ceiling_mean", "fev_mean", "recording_cnn_pearson"}

// oldColumns are the columns of results.csv before recording_cnn_pearson: a file with them is
// taken up and written with the new column, empty in its earlier rows.
var oldColumns = Columns[:len(Columns)-1]

// Row is one run's scores on its test set.
type Row struct {
	ExpName        string  `json:"exp_name"`
	ModelType      string  `json:"model_type"`
	Dataset        string  `json:"dataset"`
	StimType       string  `json:"stim_type"`
	CNNPearsonMean float64 `json:"cnn_pearson_mean"`
	LNPearsonMean  float64 `json:"ln_pearson_mean"`
	CeilingMean    float64 `json:"ceiling_mean"`
	FEVMean        float64 `json:"fev_mean"`
	Config         any     `json:"config"` // the run's hyper-parameters (JSON only)
	// Recordings are the scores on each recording of a run of several (retina.Config's
	// "recordings"), whose means the scores above are; none for a run of one recording.
	Recordings []Recording `json:"recordings,omitempty"`
}

// Recording is a multi-recording run's scores on one of its recordings' test sets (its
// RUN/eval-<name>.json); NaN scores are null in JSON.
type Recording struct {
	Name           string  `json:"name"`
	Dataset        string  `json:"dataset"`
	CNNPearsonMean float64 `json:"cnn_pearson_mean"`
	LNPearsonMean  float64 `json:"ln_pearson_mean"`
	CeilingMean    float64 `json:"ceiling_mean"`
	FEVMean        float64 `json:"fev_mean"`
}

// UnmarshalJSON reads null scores back as NaN.
func (r *Recording) UnmarshalJSON(data []byte) error {
	type plain Recording
	*r = Recording{}
	nanScores(&r.CNNPearsonMean, &r.LNPearsonMean, &r.CeilingMean, &r.FEVMean)
	return json.Unmarshal(data, (*plain)(r))
}

// UnmarshalJSON reads null scores back as NaN.
func (r *Row) UnmarshalJSON(data []byte) error {
	type plain Row
	*r = Row{}
	nanScores(&r.CNNPearsonMean, &r.LNPearsonMean, &r.CeilingMean, &r.FEVMean)
	return json.Unmarshal(data, (*plain)(r))
}

// nanScores sets scores to NaN before decoding: encoding/json leaves a float64 untouched for
// a JSON null or a missing key, so those read back as NaN (jsonnull.Marshal writes NaN as null).
func nanScores(scores ...*float64) {
	for _, p := range scores {
		*p = math.NaN()
	}
}

// csv is the row in results.csv; recording_cnn_pearson holds each recording's CNN r, the
// score a sweep ranks by, as "name=r" joined by ";" (the other scores are in results.json).
func (r Row) csv() []string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	var recs []string
	for _, rec := range r.Recordings {
		recs = append(recs, rec.Name+"="+f(rec.CNNPearsonMean))
	}
	return []string{r.ExpName, r.ModelType, r.Dataset, r.StimType, f(r.CNNPearsonMean), f(r.LNPearsonMean), f(r.CeilingMean), f(r.FEVMean),
		strings.Join(recs, ";")}
}

// Record writes row into dir's results.csv and results.json, replacing the row of the same
// exp_name or appending it. It waits (until ctx is done) while another process writes them.
// Both files are replaced atomically: a reader sees the old table or the new one.
func Record(ctx stdcontext.Context, dir string, row Row) error {
	if row.ExpName == "" {
		return errors.New("a results row needs an exp_name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := runlock.Wait(ctx, filepath.Join(dir, lockFile))
	if err != nil {
		return fmt.Errorf("results in %s: %w", dir, err)
	}
	defer lock.Release()
	if err := upsertJSON(filepath.Join(dir, JSONFile), row); err != nil {
		return err
	}
	return upsertCSV(filepath.Join(dir, CSVFile), row)
}

// Read returns dir's results.json rows (none if the file does not exist).
func Read(dir string) ([]Row, error) {
	path := filepath.Join(dir, JSONFile)
	raw, err := readJSON(path)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &rows[i]); err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i+1, err)
		}
	}
	return rows, nil
}

// readJSON reads the rows as they are, so rows this version does not know survive a rewrite.
// An empty file (left by versions that wiped it on a NaN score) holds no rows.
func readJSON(path string) ([]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && strings.TrimSpace(string(data)) == "") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("%s: expected a JSON list of rows: %w", path, err)
	}
	return rows, nil
}

func upsertJSON(path string, row Row) error {
	rows, err := readJSON(path)
	if err != nil {
		return err
	}
	enc, err := jsonnull.Marshal(row)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	i := slices.IndexFunc(rows, func(r json.RawMessage) bool {
		var key struct {
			ExpName string `json:"exp_name"`
		}
		return json.Unmarshal(r, &key) == nil && key.ExpName == row.ExpName
	})
	if i >= 0 {
		rows[i] = enc
	} else {
		rows = append(rows, enc)
	}
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return fsutil.WriteFileAtomic(path, append(data, '\n'))
}

func upsertCSV(path string, row Row) error {
	records := [][]string{Columns}
	if f, err := os.Open(path); err == nil {
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		records, err = r.ReadAll()
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(records) > 0 && slices.Equal(records[0], oldColumns) {
			for i := range records {
				records[i] = append(records[i], "")
			}
			records[0] = Columns
		}
		if len(records) == 0 {
			records = [][]string{Columns}
		} else if !slices.Equal(records[0], Columns) {
			return fmt.Errorf("%s: expected the columns %s, found %s (move the file aside to start a new one)",
				path, strings.Join(Columns, ","), strings.Join(records[0], ","))
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	i := slices.IndexFunc(records[1:], func(rec []string) bool { return len(rec) > 0 && rec[0] == row.ExpName })
	if i >= 0 {
		records[i+1] = row.csv()
	} else {
		records = append(records, row.csv())
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.WriteAll(records); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return fsutil.WriteFileAtomic(path, []byte(b.String()))
}
