package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/retina"
)

// The results of phenomena and probe that report reads are checked for what they are and for
// the run they describe before any work: another run's probe.json, or phenomena results given
// as --probe, are refused.

// resultSource is a results file report draws, with the run and checkpoint it records.
type resultSource struct {
	flag, path      string
	run, checkpoint string // as recorded; "" when the file (of an older version) names none
}

// checkResultFile checks that path (found for flag) holds want and describes run: a file of
// another known kind, or one that names another run, is refused; one that names no run is
// accepted with a note on log.
func checkResultFile(flag, path string, want outputs.FileKind, run string, log io.Writer) (*resultSource, error) {
	if path == "" {
		return nil, nil
	}
	if kind := outputs.SniffKind(path); kind != outputs.KindUnknown && kind != want {
		hint := ""
		switch kind {
		case outputs.KindPhenomena:
			hint = " (give it with --phenomena)"
		case outputs.KindProbe:
			hint = " (give it with --probe)"
		}
		return nil, fmt.Errorf("%s %s holds %s, not %s%s", flag, path, kind, want, hint)
	}
	data, err := outputs.ReadLimited(path, 256<<20)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	var id struct {
		Run        string `json:"run"`
		Checkpoint string `json:"checkpoint"`
	}
	_ = json.Unmarshal(data, &id) // a file that is no JSON object is refused by its reader
	src := &resultSource{flag: flag, path: path, run: id.Run, checkpoint: id.Checkpoint}
	if id.Run == "" {
		fmt.Fprintf(log, "note: %s %s names no run (written by an older version): cannot check that it describes %s\n", flag, path, run)
		return src, nil
	}
	if !sameRun(id.Run, run) {
		return nil, fmt.Errorf("%s %s describes the run %s, not %s: give the results of this run (or leave %s out)", flag, path, id.Run, run, flag)
	}
	return src, nil
}

// checkCheckpoint refuses results made from another checkpoint than the one the report loads
// (the run trained on since, say).
func (s *resultSource) checkCheckpoint(model *retina.Model) error {
	if s == nil || s.checkpoint == "" {
		return nil
	}
	if filepath.Base(filepath.Clean(s.checkpoint)) != filepath.Base(filepath.Clean(checkpointID(model))) {
		return fmt.Errorf("%s %s was made from the checkpoint %s, but the run's best checkpoint is now %s: run it again on the run",
			s.flag, s.path, s.checkpoint, checkpointID(model))
	}
	return nil
}

// sameRun reports whether a run folder recorded in a results file is the folder run: the same
// folder when the recorded path can be found from here, else the same folder name.
func sameRun(recorded, run string) bool {
	a, errA := os.Stat(recorded)
	b, errB := os.Stat(run)
	if errA == nil && errB == nil {
		return os.SameFile(a, b)
	}
	return filepath.Base(filepath.Clean(recorded)) == filepath.Base(outputs.Resolve(run))
}
