package retina

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// Checkpoints written by GoMLX v0.26.0 (every deepretina run before the move to v0.28) start
// their compressed .bin with the header "gomlx_checkpoints", a length byte and "gzip". GoMLX
// v0.28.8 writes and expects "gomlx_checkpointss" instead, and reads a file with any other start
// as an uncompressed legacy one: it would take the gzip stream's bytes for the weights, giving
// garbage values or, when the bytes run out first, an error ("failed to read variable contents
// of checkpoint binary file"). loadVariables therefore rewrites the old header to the new one in
// memory (the files, and so their hashes, stay as they are) before handing the checkpoint to
// GoMLX. The header GoMLX writes is an unexported constant of its checkpoint package, so rather
// than trusting a copy of it, writingHeader asks this build's GoMLX which header it writes (by
// saving a three-value checkpoint) before any conversion, and the conversion is refused, loudly,
// when that is neither header. TestCheckpointHeaderShim fails as soon as GoMLX reads the old
// header itself, when this file should go.
const (
	gomlx026BinHeader = "gomlx_checkpoints\x04gzip"
	gomlx028BinHeader = "gomlx_checkpointss\x04gzip"
)

// v026Checkpoint returns the checkpoint's JSON and its .bin with the header GoMLX v0.28.8 reads,
// when the checkpoint in dir was written by GoMLX v0.26 (found false otherwise, and for a
// folder that does not hold exactly one GoMLX checkpoint, which GoMLX itself then reports).
func v026Checkpoint(dir string) (jsonText string, bin []byte, found bool, err error) {
	jsons, err := filepath.Glob(filepath.Join(dir, "checkpoint-*.json"))
	if err != nil || len(jsons) != 1 {
		return "", nil, false, nil
	}
	binPath := strings.TrimSuffix(jsons[0], ".json") + ".bin"
	bin, err = os.ReadFile(binPath)
	if err != nil || !bytes.HasPrefix(bin, []byte(gomlx026BinHeader)) {
		return "", nil, false, nil
	}
	switch current, err := writingHeader(); {
	case err != nil:
		return "", nil, true, fmt.Errorf("checkpoint %s was written by GoMLX v0.26: %w", binPath, err)
	case current == gomlx026BinHeader:
		return "", nil, false, nil // this GoMLX reads the old header as it is
	case current != gomlx028BinHeader:
		return "", nil, true, fmt.Errorf("checkpoint %s was written by GoMLX v0.26 (header %q), and this build's GoMLX writes the header %q, which deepretina does not know how to convert to (retina/checkpointcompat.go)",
			binPath, gomlx026BinHeader, current)
	}
	data, err := os.ReadFile(jsons[0])
	if err != nil {
		return "", nil, true, fmt.Errorf("checkpoint: %w", err)
	}
	converted := append([]byte(gomlx028BinHeader), bin[len(gomlx026BinHeader):]...)
	return string(data), converted, true, nil
}

// writingHeader returns the header this build's GoMLX starts a compressed checkpoint with (up
// to and including "gzip"), by saving a three-value checkpoint into a temporary folder.
func writingHeader() (string, error) {
	dir, err := os.MkdirTemp("", "deepretina-header-")
	if err != nil {
		return "", fmt.Errorf("probing GoMLX's checkpoint header: %w", err)
	}
	defer os.RemoveAll(dir)
	store := model.NewStore()
	if _, err := store.RootScope().CreateVariable("probe", tensors.FromValue([]float32{1, 2, 3})); err != nil {
		return "", fmt.Errorf("probing GoMLX's checkpoint header: %w", err)
	}
	h, err := checkpoint.Build(store).Dir(dir).Keep(-1).Done()
	if err == nil {
		err = h.Save()
	}
	if err != nil {
		return "", fmt.Errorf("probing GoMLX's checkpoint header: %w", err)
	}
	bins, err := filepath.Glob(filepath.Join(dir, "*.bin"))
	if err != nil || len(bins) != 1 {
		return "", fmt.Errorf("probing GoMLX's checkpoint header: GoMLX saved %d .bin files, expected 1", len(bins))
	}
	data, err := os.ReadFile(bins[0])
	if err != nil {
		return "", fmt.Errorf("probing GoMLX's checkpoint header: %w", err)
	}
	end := bytes.Index(data, []byte("gzip"))
	if end < 0 || end > 64 {
		return "", fmt.Errorf("probing GoMLX's checkpoint header: no \"gzip\" marker at the start of %q", data[:min(len(data), 32)])
	}
	return string(data[:end+len("gzip")]), nil
}
