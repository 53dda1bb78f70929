package datasets

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// NormStats is the scalar stimulus normalisation of the reference: one mean and one standard
// deviation over the whole training stimulus. Models carry it so that any later stimulus is
// scaled exactly as the training data were.
type NormStats struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"` // includes the reference's +1e-7
}

// ComputeNormStats returns the mean and std (+1e-7) of every pixel of every frame of m.
func ComputeNormStats(m Movie) NormStats {
	var sum float64
	for _, v := range m.Data {
		sum += float64(v)
	}
	mean := sum / float64(len(m.Data))
	var ss float64
	for _, v := range m.Data {
		d := float64(v) - mean
		ss += d * d
	}
	return NormStats{Mean: mean, Std: math.Sqrt(ss/float64(len(m.Data))) + 1e-7}
}

// Apply z-scores src into dst (same length; they may alias).
func (s NormStats) Apply(dst, src []float32) {
	mean, inv := float32(s.Mean), float32(1/s.Std)
	for i, v := range src {
		dst[i] = (v - mean) * inv
	}
}

// Windows presents a stimulus/response pair as the reference's history windows without ever
// materialising them: window i is the z-scored stimulus frames [i, i+History) and its target is
// the response at frame i+History, the first bin after the window.
//
//	X[i]: [History, H, W] float32 (oldest frame first)   Y[i]: [N] float32
type Windows struct {
	Stim    Movie     // [T, H, W] raw stimulus, normalised on the fly with Norm
	Norm    NormStats // normalisation applied while copying windows
	Targets Matrix    // [T, N] responses; may be empty (Rows 0) for prediction-only use
	History int
}

// NewWindows checks shapes and builds the window view. targets may be the zero Matrix.
func NewWindows(stim Movie, norm NormStats, targets Matrix, history int) (*Windows, error) {
	if history <= 0 {
		return nil, fmt.Errorf("windows: history must be positive, got %d", history)
	}
	if stim.T <= history {
		return nil, fmt.Errorf("windows: stimulus has %d frames, need more than the history of %d", stim.T, history)
	}
	if targets.Rows != 0 && targets.Rows != stim.T {
		return nil, fmt.Errorf("windows: responses have %d frames, stimulus has %d", targets.Rows, stim.T)
	}
	if norm.Std <= 0 {
		return nil, fmt.Errorf("windows: norm stats std must be positive, got %v", norm.Std)
	}
	return &Windows{Stim: stim, Norm: norm, Targets: targets, History: history}, nil
}

// Len is the number of windows, T − History.
func (w *Windows) Len() int { return w.Stim.T - w.History }

// XSize is the number of values in one window (History·H·W).
func (w *Windows) XSize() int { return w.History * w.Stim.FrameSize() }

// NCells is the number of response columns.
func (w *Windows) NCells() int { return w.Targets.Cols }

// CopyX writes window i, z-scored, into dst ([History, H, W]).
func (w *Windows) CopyX(dst []float32, i int) {
	n := w.Stim.FrameSize()
	w.Norm.Apply(dst[:w.XSize()], w.Stim.Data[i*n:(i+w.History)*n])
}

// CopyY writes the target of window i (the response at frame i+History) into dst ([N]).
func (w *Windows) CopyY(dst []float32, i int) {
	copy(dst, w.Targets.Row(i+w.History))
}

// Fill writes the windows idx into x ([len(idx), History, H, W]) and, when y is not nil and
// targets exist, their targets into y ([len(idx), N]).
func (w *Windows) Fill(x, y []float32, idx []int) {
	xs, n := w.XSize(), w.NCells()
	for b, i := range idx {
		w.CopyX(x[b*xs:(b+1)*xs], i)
		if y != nil && n > 0 {
			w.CopyY(y[b*n:(b+1)*n], i)
		}
	}
}

// ValidationSize is how many windows the reference holds out for validation out of n: 10,000,
// or 5% of n when 10,000 would be more than that.
func ValidationSize(n int) int {
	v := 10000
	if f := int(math.Round(0.05 * float64(n))); f < v {
		v = f
	}
	if v < 1 && n > 1 {
		v = 1
	}
	return v
}

// SplitTrainVal shuffles window indices 0..n−1 with seed and returns (train, val), val being
// the last ValidationSize(n) shuffled indices, as the reference does.
func SplitTrainVal(n int, seed uint64) (train, val []int) {
	perm := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(n)
	nv := ValidationSize(n)
	return perm[:n-nv], perm[n-nv:]
}

// EpochOrder returns the order in which training windows are visited in the given epoch. It
// depends only on (seed, epoch), so a resumed run visits the same batches as an uninterrupted one.
func EpochOrder(train []int, seed uint64, epoch int) []int {
	order := append([]int(nil), train...)
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)+1))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// Batch is one mini-batch of windows.
type Batch struct {
	Index int       // batch number within the epoch
	Idx   []int     // window indices in the batch
	X     []float32 // [B, History, H, W]
	Y     []float32 // [B, N]
}

// Batches streams full batches of the windows in order (a trailing partial batch is dropped
// when dropLast, else zero-padded: Idx then holds only the real windows). A goroutine fills up
// to readAhead batches ahead of the consumer; cancel ctx to stop it early.
func (w *Windows) Batches(ctx context.Context, order []int, batchSize, readAhead int, dropLast bool) <-chan Batch {
	if readAhead < 1 {
		readAhead = 1
	}
	out := make(chan Batch, readAhead)
	go func() {
		defer close(out)
		xs, n := w.XSize(), w.NCells()
		for b := 0; b*batchSize < len(order); b++ {
			end := min((b+1)*batchSize, len(order))
			if end-b*batchSize < batchSize && dropLast {
				return
			}
			batch := Batch{Index: b, Idx: order[b*batchSize : end],
				X: make([]float32, batchSize*xs), Y: make([]float32, batchSize*n)}
			w.Fill(batch.X, batch.Y, batch.Idx)
			select {
			case out <- batch:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
