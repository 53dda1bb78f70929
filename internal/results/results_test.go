package results

import (
	stdcontext "context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Writers are this test binary run again with RESULTS_WRITER=<id>.
func TestMain(m *testing.M) {
	if id := os.Getenv("RESULTS_WRITER"); id != "" {
		os.Exit(writer(id, os.Getenv("RESULTS_DIR")))
	}
	os.Exit(m.Run())
}

const perWriter = 20

// writer records its own rows and, like every other writer, the shared ones (a sweep re-run
// while the first is still writing).
func writer(id, dir string) int {
	ctx, cancel := stdcontext.WithTimeout(stdcontext.Background(), 2*time.Minute)
	defer cancel()
	for j := range perWriter {
		for _, name := range []string{fmt.Sprintf("w%s-%02d", id, j), fmt.Sprintf("shared-%02d", j)} {
			row := Row{ExpName: name, ModelType: "BNCNN", Dataset: "sim-small", StimType: "whitenoise",
				CNNPearsonMean: float64(j) / 100, LNPearsonMean: math.NaN(), CeilingMean: 0.8, FEVMean: 0.5,
				Config: map[string]any{"writer": id, "j": j}}
			if err := Record(ctx, dir, row); err != nil {
				fmt.Println("error:", err)
				return 1
			}
		}
	}
	return 0
}

func TestEightWritersLoseAndDuplicateNoRow(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 8 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "RESULTS_WRITER="+strconv.Itoa(i), "RESULTS_DIR="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Sprintf("writer %d: %v: %s", i, err, out)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	want := map[string]bool{}
	for i := range 8 {
		for j := range perWriter {
			want[fmt.Sprintf("w%d-%02d", i, j)] = true
			want[fmt.Sprintf("shared-%02d", j)] = true
		}
	}
	rows, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.ExpName]++
		if !math.IsNaN(r.LNPearsonMean) || r.CeilingMean != 0.8 {
			t.Errorf("row %s read back as %+v", r.ExpName, r)
		}
	}
	checkOnce(t, "results.json", seen, want)

	f, err := os.Open(filepath.Join(dir, CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != strings.Join(Columns, ",") {
		t.Errorf("results.csv header %v", recs[0])
	}
	seen = map[string]int{}
	for _, r := range recs[1:] {
		seen[r[0]]++
		if r[5] != "NaN" {
			t.Errorf("csv row %v: NaN written as %q", r, r[5])
		}
	}
	checkOnce(t, "results.csv", seen, want)
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary or lock files left behind: %v", left)
	}
}

func checkOnce(t *testing.T, file string, seen map[string]int, want map[string]bool) {
	t.Helper()
	for name := range want {
		if seen[name] != 1 {
			t.Errorf("%s: %s appears %d times", file, name, seen[name])
		}
	}
	for name := range seen {
		if !want[name] {
			t.Errorf("%s: unexpected row %s", file, name)
		}
	}
}

func TestRecordReplacesTheRowOfARun(t *testing.T) {
	dir := t.TempDir()
	ctx := stdcontext.Background()
	for i, name := range []string{"a", "b", "a"} {
		if err := Record(ctx, dir, Row{ExpName: name, CNNPearsonMean: float64(i), Config: map[string]int{"seed": i}}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ExpName != "a" || rows[0].CNNPearsonMean != 2 || rows[1].ExpName != "b" {
		t.Fatalf("rows %+v", rows)
	}
	for _, f := range []string{CSVFile, JSONFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, mode %v", f, err, fi.Mode())
		}
	}
}

func TestBadTablesAreNamedNotOverwritten(t *testing.T) {
	cases := []struct {
		name, file, content string
		want                []string
	}{
		{"json not a list", JSONFile, `{"exp_name": "x"}`, []string{JSONFile, "list of rows"}},
		{"json truncated", JSONFile, `[{"exp_name": "x"`, []string{JSONFile}},
		{"csv of other columns", CSVFile, "name,score\nx,1\n", []string{CSVFile, "exp_name,model_type", "name,score"}},
		{"csv broken quoting", CSVFile, "exp_name,\"model\n", []string{CSVFile}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		path := filepath.Join(dir, c.file)
		if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		err := Record(stdcontext.Background(), dir, Row{ExpName: "new"})
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.name, err, w)
			}
		}
		if data, _ := os.ReadFile(path); string(data) != c.content {
			t.Errorf("%s: the file was changed to %q", c.name, data)
		}
	}
	// An empty results.json (as a NaN score used to leave) holds no rows.
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, JSONFile), nil, 0o644)
	if err := Record(stdcontext.Background(), dir, Row{ExpName: "x"}); err != nil {
		t.Fatalf("empty results.json: %v", err)
	}
	var rows []map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, JSONFile))
	if err := json.Unmarshal(data, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("after an empty results.json: %v %s", err, data)
	}
}

// A run of several recordings keeps each one's scores: all four in results.json (NaN as null and
// back), its CNN r in results.csv's last column; a results.csv written before that column
// existed is taken up, its rows kept with the new column empty.
func TestRecordingScoresAndTheOlderTable(t *testing.T) {
	dir := t.TempDir()
	old := "exp_name,model_type,dataset,stim_type,cnn_pearson_mean,ln_pearson_mean,ceiling_mean,fev_mean\nsingle,BNCNN,ret1,whitenoise,0.5000,0.4000,0.9000,0.2000\n"
	if err := os.WriteFile(filepath.Join(dir, CSVFile), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	row := Row{ExpName: "multi", Dataset: "ret1+ret2", CNNPearsonMean: 0.55, Recordings: []Recording{
		{Name: "ret1", Dataset: "ret1", CNNPearsonMean: 0.5, LNPearsonMean: 0.45, CeilingMean: 0.9, FEVMean: 0.3},
		{Name: "second", Dataset: "ret2", CNNPearsonMean: 0.6, LNPearsonMean: math.NaN(), CeilingMean: 0.8, FEVMean: -0.1},
	}}
	if err := Record(stdcontext.Background(), dir, row); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, CSVFile))
	want := "exp_name,model_type,dataset,stim_type,cnn_pearson_mean,ln_pearson_mean,ceiling_mean,fev_mean,recording_cnn_pearson\n" +
		"single,BNCNN,ret1,whitenoise,0.5000,0.4000,0.9000,0.2000,\n" +
		"multi,,ret1+ret2,,0.5500,0.0000,0.0000,0.0000,ret1=0.5000;second=0.6000\n"
	if string(data) != want {
		t.Errorf("results.csv:\n%s\nwant\n%s", data, want)
	}
	rows, err := Read(dir)
	if err != nil || len(rows) != 1 {
		t.Fatalf("results.json: %v, %+v", err, rows)
	}
	got := rows[0].Recordings
	if len(got) != 2 || got[0] != row.Recordings[0] || got[1].Name != "second" || got[1].Dataset != "ret2" ||
		!math.IsNaN(got[1].LNPearsonMean) || got[1].FEVMean != -0.1 {
		t.Errorf("recordings read back as %+v, want %+v", got, row.Recordings)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, JSONFile))
	if !strings.Contains(string(raw), `"ln_pearson_mean": null`) {
		t.Errorf("a NaN recording score is not null in results.json:\n%s", raw)
	}
}
