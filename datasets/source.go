package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"unsafe"
)

// Source identifies the data a Recording holds, so that a model trained on it can tell later
// whether it is given the same data: a run records the Source of its training recording, and
// scoring it against a recording whose Source differs is refused unless asked for.
//
// SHA256 is the identity. For a file it is the SHA-256 of exactly what LoadFile read — the name,
// selection and values of every dataset in reading order, then the attributes it used —
// computed while reading; for a recording simulated in memory it is the SHA-256 of the arrays.
type Source struct {
	Path      string `json:"path,omitempty"` // absolute path of the file read; empty when simulated in memory
	Size      int64  `json:"size,omitempty"` // the file's size in bytes
	SHA256    string `json:"sha256"`
	SimPreset string `json:"sim_preset,omitempty"` // simulated data: the simulator's preset ("small", "paper")
	SimSeed   uint64 `json:"sim_seed,omitempty"`   // simulated data: the simulator's seed
}

// Changes lists, in words, how now differs from s ("content hash 3f2a…→9b1c…", "simulator seed
// 1 → 2"), or nothing when both are the same data. A file that moved but kept its content is
// the same data. A Source without a hash (an old run) has nothing to compare.
func (s Source) Changes(now Source) []string {
	if s.SHA256 == "" || s.SHA256 == now.SHA256 {
		return nil
	}
	var out []string
	if s.Path != now.Path && now.Path != "" {
		out = append(out, fmt.Sprintf("file %s → %s", orNone(s.Path), now.Path))
	}
	if s.Size != now.Size && s.Path != "" && now.Path != "" {
		out = append(out, fmt.Sprintf("size %d → %d bytes", s.Size, now.Size))
	}
	if s.SimPreset != now.SimPreset {
		out = append(out, fmt.Sprintf("simulator preset %s → %s", orNone(s.SimPreset), orNone(now.SimPreset)))
	}
	if s.SimSeed != now.SimSeed {
		out = append(out, fmt.Sprintf("simulator seed %d → %d", s.SimSeed, now.SimSeed))
	}
	return append(out, fmt.Sprintf("content hash %s → %s", short(s.SHA256), short(now.SHA256)))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func short(h string) string {
	if h == "" {
		return "(none)"
	}
	return h[:min(12, len(h))] + "…"
}

// streamHash computes a SHA-256 on its own goroutine, so that hashing overlaps with reading.
// Slices given to write must not change until sum returns.
type streamHash struct {
	ch   chan []byte
	done chan struct{}
	h    hash.Hash
}

func newStreamHash() *streamHash {
	s := &streamHash{ch: make(chan []byte, 16), done: make(chan struct{}), h: sha256.New()}
	go func() {
		for b := range s.ch {
			s.h.Write(b)
		}
		close(s.done)
	}()
	return s
}

func (s *streamHash) write(b []byte) {
	if len(b) > 0 {
		s.ch <- b
	}
}

// header separates the parts of the hashed stream: what follows belongs to this name and shape.
func (s *streamHash) header(name string, dims ...int) {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(name)))
	b = append(b, name...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(dims)))
	for _, d := range dims {
		b = binary.LittleEndian.AppendUint64(b, uint64(d))
	}
	s.write(b)
}

// sum waits for the hashing to finish and returns the hash; the streamHash is then closed.
func (s *streamHash) sum() string {
	close(s.ch)
	<-s.done
	return hex.EncodeToString(s.h.Sum(nil))
}

// asBytes views numbers as their (host byte order) bytes.
func asBytes[E float32 | float64](x []E) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), len(x)*int(unsafe.Sizeof(x[0])))
}

// ContentHash is the SHA-256 of a recording held in memory: its arrays and the attributes a
// file would carry. Sources of recordings built in memory (such as simulated ones) use it as
// their SHA256.
func (r *Recording) ContentHash() string {
	s := newStreamHash()
	s.header(fmt.Sprintf("recording frame_rate=%v pixel=%v cells=%v", r.FrameRate, r.PixelSizeUM, r.CellIDs))
	for _, sp := range []struct {
		name  string
		split *Split
	}{{"train", &r.Train}, {"test", &r.Test}} {
		m := sp.split.Stimulus
		s.header(sp.name+"/"+h5Stimulus, m.T, m.H, m.W)
		s.write(asBytes(m.Data))
		s.header(sp.name+"/"+h5Time, len(sp.split.Time))
		s.write(asBytes(sp.split.Time))
		for _, mat := range []struct {
			name string
			m    Matrix
		}{{h5Rates, sp.split.Rates}, {h5Binned, sp.split.Counts}} {
			s.header(sp.name+"/"+mat.name, mat.m.Rows, mat.m.Cols)
			s.write(asBytes(mat.m.Data))
		}
		s.header(fmt.Sprintf("%s/count_trials=%d", sp.name, sp.split.CountTrials))
		for c, reps := range sp.split.Repeats {
			s.header(fmt.Sprintf("%s/%s/cell%02d", sp.name, h5Repeats, c+1), len(reps))
			for _, rep := range reps {
				s.write(asBytes(rep))
			}
		}
	}
	return s.sum()
}

// inferCountTrials tells how many trials the test split's spike counts sum, for files that do
// not say: the trial-averaged rates (Hz) imply rate·dt spikes per trial, so the counts hold
// about that many (one trial) or R times as many (summed over the R repeats). 0 when the counts
// match neither within a factor of 1.5.
func inferCountTrials(sp *Split, frameRate float64) int {
	if sp.Counts.Data == nil {
		return 0
	}
	var spikes, perTrial float64
	for i, k := range sp.Counts.Data {
		spikes += float64(k)
		perTrial += float64(sp.Rates.Data[i]) / frameRate
	}
	if !(spikes > 0) || !(perTrial > 0) {
		return 0
	}
	ratio := spikes / perTrial
	best, bestDist := 0, math.Log(1.5)
	candidates := []int{1}
	if len(sp.Repeats) > 0 && len(sp.Repeats[0]) > 1 {
		candidates = append(candidates, len(sp.Repeats[0]))
	}
	for _, c := range candidates {
		if d := math.Abs(math.Log(ratio / float64(c))); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
