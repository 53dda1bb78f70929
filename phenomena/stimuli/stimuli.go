// Package stimuli builds the stimuli of the retinal phenomena battery (package phenomena) as
// movies [T, H, W] float32 in z-scored intensity units (0 = mean grey, 1 = one SD of the
// training stimulus): full-field steps and flashes (Step, PairedFlash, FlashTrain), bars
// (Bar, DriftingBar, MotionReversal), gratings (Grating, DriftingGrating, JitteredGrating,
// ReversingGrating, ContrastReversingGrating), circles for object motion (DifferentialCircle,
// JitteredCircle, MovingCircle), white noise, jitter paths, and fitting to a model's input
// (FitToInput, Concat). They are public so that users compose their own experiments.
package stimuli

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/deepretina/deepretina/datasets"
)

// Point is a position in stimulus pixels (row Y, column X; pixel (0, 0) centred at (0, 0)).
type Point struct{ Y, X float64 }

// Stimulus builders. All return movies [T, H, W] float32 in z-scored intensity units (0 = mean
// grey). Positions are in pixels, with pixel (row y, column x) centred at (y, x), so a field
// of width W spans −0.5 … W−0.5 and its centre is (W−1)/2. Durations are in frames. Bars and
// gratings are anti-aliased (each pixel holds the mean of the pattern over its area), so that
// sub-pixel motion moves them smoothly.

// Grey returns T frames of mean grey.
func Grey(t, h, w int) datasets.Movie { return datasets.NewMovie(t, h, w) }

// Segment is a stretch of frames at one full-field intensity.
type Segment struct {
	Frames int
	Value  float32
}

// FullField returns the concatenated full-field segments.
func FullField(h, w int, segments ...Segment) datasets.Movie {
	t := 0
	for _, s := range segments {
		t += s.Frames
	}
	m := datasets.NewMovie(t, h, w)
	f := 0
	for _, s := range segments {
		for k := 0; k < s.Frames; k++ {
			fill(m.Frame(f), s.Value)
			f++
		}
	}
	return m
}

// Flash is a full-field flash: pre frames of grey, duration frames at intensity, post frames
// of grey.
func Flash(h, w, pre, duration, post int, intensity float32) datasets.Movie {
	return FullField(h, w, Segment{pre, 0}, Segment{duration, intensity}, Segment{post, 0})
}

// Step is a full-field step from grey to intensity and back, e.g. the reference's step response
// 0 (50 frames) → −1 (100) → 0 (50): Step(h, w, 50, 100, 50, −1).
func Step(h, w, pre, duration, post int, intensity float32) datasets.Movie {
	return Flash(h, w, pre, duration, post, intensity)
}

// PairedFlash is two full-field flashes of flash frames each, the second starting gap frames
// after the first ends.
func PairedFlash(h, w, pre, flash, gap, post int, intensity float32) datasets.Movie {
	return FullField(h, w, Segment{pre, 0}, Segment{flash, intensity}, Segment{gap, 0}, Segment{flash, intensity}, Segment{post, 0})
}

// FlashTrain is n full-field flashes of flash frames, one every period frames, after pre frames
// of grey, then post frames of grey (the omitted-stimulus paradigm: the response after the
// train ends is the response to the omitted flash).
func FlashTrain(h, w, pre, flash, period, n, post int, intensity float32) datasets.Movie {
	m := datasets.NewMovie(pre+(n-1)*period+flash+post, h, w)
	for k := 0; k < n; k++ {
		for f := 0; f < flash; f++ {
			fill(m.Frame(pre+k*period+f), intensity)
		}
	}
	return m
}

// BarFrame draws a vertical bar of the given width (pixels) centred at column x into frame
// ([H, W]), adding intensity times each pixel's coverage.
func BarFrame(frame []float32, h, w int, x, width float64, intensity float32) {
	for c := 0; c < w; c++ {
		cov := overlap(float64(c)-0.5, float64(c)+0.5, x-width/2, x+width/2)
		if cov == 0 {
			continue
		}
		for r := 0; r < h; r++ {
			frame[r*w+c] += intensity * float32(cov)
		}
	}
}

// Bar is a static vertical bar at column x: pre frames of grey, duration frames with the bar,
// post frames of grey (a flashed bar).
func Bar(h, w, pre, duration, post int, x, width float64, intensity float32) datasets.Movie {
	m := datasets.NewMovie(pre+duration+post, h, w)
	for t := pre; t < pre+duration; t++ {
		BarFrame(m.Frame(t), h, w, x, width, intensity)
	}
	return m
}

// DriftingBar moves a vertical bar from column x0 to column x1 at speed pixels per frame (the
// sign of x1−x0 gives the direction), then shows post frames of grey. BarPositions gives its
// centre in every frame.
func DriftingBar(h, w int, x0, x1, speed, width float64, intensity float32, post int) datasets.Movie {
	pos := BarPositions(x0, x1, speed)
	m := datasets.NewMovie(len(pos)+post, h, w)
	for t, x := range pos {
		BarFrame(m.Frame(t), h, w, x, width, intensity)
	}
	return m
}

// BarPositions is the centre of a bar moving from x0 to x1 at speed pixels per frame, one per
// frame (x0 first; the last is the first position at or past x1).
func BarPositions(x0, x1, speed float64) []float64 {
	if !(speed > 0) {
		return nil
	}
	dir := 1.0
	if x1 < x0 {
		dir = -1
	}
	n := int(math.Ceil(math.Abs(x1-x0)/speed-1e-9)) + 1
	pos := make([]float64, n)
	for t := range pos {
		pos[t] = x0 + dir*speed*float64(t)
	}
	return pos
}

// MotionReversal moves a vertical bar from x0 to xTurn at speed pixels per frame, then back
// towards x0 for `after` frames (the bar reverses at xTurn). It also returns the frame of the
// reversal and the bar's centre in every frame.
func MotionReversal(h, w int, x0, xTurn, speed, width float64, intensity float32, after int) (datasets.Movie, int, []float64) {
	pos := BarPositions(x0, xTurn, speed)
	turn := len(pos) - 1
	dir := math.Copysign(1, xTurn-x0)
	for k := 1; k <= after; k++ {
		pos = append(pos, pos[turn]-dir*speed*float64(k))
	}
	m := datasets.NewMovie(len(pos), h, w)
	for t, x := range pos {
		BarFrame(m.Frame(t), h, w, x, width, intensity)
	}
	return m, turn, pos
}

// Grating describes a grating: bars of Period/2 pixels, oriented so that the pattern varies
// along the direction AngleDeg (0: bars are vertical and the pattern varies along x; 90: along
// y), shifted by Phase pixels along that direction, with peak intensity Contrast. Square
// gratings take the values ±Contrast, sinusoidal ones Contrast·sin.
type Grating struct {
	Period   float64
	AngleDeg float64
	Phase    float64
	Contrast float32
	Square   bool
}

// Frame draws the grating into a new [H, W] frame; positions are relative to the field centre.
func (g Grating) Frame(h, w int) []float32 {
	f := make([]float32, h*w)
	g.draw(f, h, w, func(int, int) bool { return true }, 0)
	return f
}

// draw writes the grating shifted by shift pixels into the pixels of f where mask is true.
func (g Grating) draw(f []float32, h, w int, mask func(r, c int) bool, shift float64) {
	th := g.AngleDeg * math.Pi / 180
	ct, st := math.Cos(th), math.Sin(th)
	cy, cx := float64(h-1)/2, float64(w-1)/2
	k := 2 * math.Pi / g.Period
	const ss = 4 // square gratings: 4×4 samples per pixel
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			if !mask(r, c) {
				continue
			}
			var v float64
			if g.Square {
				for i := 0; i < ss; i++ {
					for j := 0; j < ss; j++ {
						y := float64(r) - cy + (float64(i)+0.5)/ss - 0.5
						x := float64(c) - cx + (float64(j)+0.5)/ss - 0.5
						if math.Sin(k*(x*ct+y*st-g.Phase-shift)) >= 0 {
							v++
						} else {
							v--
						}
					}
				}
				v /= ss * ss
			} else {
				y, x := float64(r)-cy, float64(c)-cx
				v = math.Sin(k * (x*ct + y*st - g.Phase - shift))
			}
			f[r*w+c] = float32(v) * g.Contrast
		}
	}
}

// DriftingGrating moves g along its direction at speed pixels per frame for T frames.
func DriftingGrating(h, w, t int, g Grating, speed float64) datasets.Movie {
	offsets := make([]float64, t)
	for i := range offsets {
		offsets[i] = speed * float64(i)
	}
	return JitteredGrating(h, w, g, offsets)
}

// JitteredGrating shows g shifted by offsets[t] pixels along its direction in frame t.
func JitteredGrating(h, w int, g Grating, offsets []float64) datasets.Movie {
	m := datasets.NewMovie(len(offsets), h, w)
	shifted := g.shiftedFrames(h, w)
	for t, o := range offsets {
		copy(m.Frame(t), shifted(o))
	}
	return m
}

// shiftedFrames returns the full-field frame of g at a shift, each shift drawn once: the
// jittering stimuli revisit a few whole-pixel shifts many times, and a square grating's
// anti-aliasing costs 16 sines a pixel.
func (g Grating) shiftedFrames(h, w int) func(shift float64) []float32 {
	drawn := map[float64][]float32{}
	all := func(int, int) bool { return true }
	return func(shift float64) []float32 {
		f, ok := drawn[shift]
		if !ok {
			f = make([]float32, h*w)
			g.draw(f, h, w, all, shift)
			drawn[shift] = f
		}
		return f
	}
}

// ReversingGrating is a square grating of bars barWidth pixels wide at ±intensity whose
// polarity flips every halfPeriod frames, for T frames.
func ReversingGrating(h, w, t, halfPeriod int, barWidth float64, intensity float32) datasets.Movie {
	frame := Grating{Period: 2 * barWidth, Contrast: intensity, Square: true}.Frame(h, w)
	m := datasets.NewMovie(t, h, w)
	for i := 0; i < t; i++ {
		sign := float32(1)
		if (i/halfPeriod)%2 == 1 {
			sign = -1
		}
		f := m.Frame(i)
		for p, v := range frame {
			f[p] = sign * v
		}
	}
	return m
}

// ContrastReversingGrating modulates g in time by sin(2π·freqHz·t) for T frames at frameRate:
// the stimulus of frequency-doubling experiments (a linear cell responds at freqHz, rectified
// subunits add 2·freqHz).
func ContrastReversingGrating(h, w, t int, g Grating, freqHz, frameRate float64) datasets.Movie {
	frame := g.Frame(h, w)
	m := datasets.NewMovie(t, h, w)
	for i := 0; i < t; i++ {
		a := float32(math.Sin(2 * math.Pi * freqHz * float64(i) / frameRate))
		f := m.Frame(i)
		for p, v := range frame {
			f[p] = a * v
		}
	}
	return m
}

// JitterPath is a random walk of T positions starting at 0 that moves ±step pixels every frame
// (the sign drawn at random), deterministic given seed.
func JitterPath(t int, step float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909))
	out := make([]float64, t)
	for i := 1; i < t; i++ {
		d := step
		if rng.IntN(2) == 0 {
			d = -step
		}
		out[i] = out[i-1] + d
	}
	return out
}

// JumpPath is a random walk of T positions starting at 0 that jumps ±step pixels (the sign
// drawn at random) with probability prob on each frame and otherwise stays, deterministic
// given seed: the reference's object-motion paths (1-pixel jumps with probability 0.5 for the
// object, 0.3 for the background).
func JumpPath(t int, step, prob float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x3c6ef372fe94f82b))
	out := make([]float64, t)
	for i := 1; i < t; i++ {
		out[i] = out[i-1]
		if rng.Float64() < prob {
			if rng.IntN(2) == 0 {
				out[i] -= step
			} else {
				out[i] += step
			}
		}
	}
	return out
}

// DifferentialCircle shows g inside a disc of the given radius at the field centre, shifted by
// centre[t] pixels, and g outside it shifted by surround[t] pixels (the object-motion stimulus;
// with the same path for both it is JitteredCircle, global motion).
func DifferentialCircle(h, w int, radius float64, g Grating, centre, surround []float64) (datasets.Movie, error) {
	return DifferentialCircleAt(h, w, radius, Point{float64(h-1) / 2, float64(w-1) / 2}, g, centre, surround)
}

// DifferentialCircleAt is DifferentialCircle with the disc centred at pos (e.g. on a cell's
// receptive field).
func DifferentialCircleAt(h, w int, radius float64, pos Point, g Grating, centre, surround []float64) (datasets.Movie, error) {
	if len(centre) != len(surround) {
		return datasets.Movie{}, fmt.Errorf("centre path has %d frames, surround path %d", len(centre), len(surround))
	}
	inside := make([]bool, h*w)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			inside[r*w+c] = math.Hypot(float64(r)-pos.Y, float64(c)-pos.X) <= radius
		}
	}
	shifted := g.shiftedFrames(h, w)
	m := datasets.NewMovie(len(centre), h, w)
	for t := range centre {
		f, in, out := m.Frame(t), shifted(centre[t]), shifted(surround[t])
		for p, ok := range inside {
			if ok {
				f[p] = in[p]
			} else {
				f[p] = out[p]
			}
		}
	}
	return m, nil
}

// JitteredCircle is DifferentialCircle with one path for the disc and the background: the
// whole field moves together (global motion).
func JitteredCircle(h, w int, radius float64, g Grating, path []float64) datasets.Movie {
	m, _ := DifferentialCircle(h, w, radius, g, path, path)
	return m
}

// ObjectMotionTrials returns the trials of an object-motion experiment (Ölveczky et al. 2003):
// greyT frames of grey; then global motion, the whole field on each path of centre; then for
// each position in at (rounded to half a pixel; a NaN coordinate: none) one trial per pair, the
// disc of the given radius there on centre[k] and the background on surround[k]. first[i] is
// the index of the first differential trial at at[i] (−1 for none); positions that round alike
// share trials.
func ObjectMotionTrials(h, w, greyT int, radius float64, g Grating, centre, surround [][]float64, at []Point) (stims []datasets.Movie, first []int, err error) {
	stims = []datasets.Movie{Grey(greyT, h, w)}
	for _, c := range centre {
		stims = append(stims, JitteredCircle(h, w, radius, g, c))
	}
	first = make([]int, len(at))
	seen := map[Point]int{}
	for i, p := range at {
		first[i] = -1
		if math.IsNaN(p.X) || math.IsNaN(p.Y) {
			continue
		}
		p = Point{Y: math.Round(2*p.Y) / 2, X: math.Round(2*p.X) / 2}
		k, ok := seen[p]
		if !ok {
			k = len(stims)
			for j := range centre {
				m, err := DifferentialCircleAt(h, w, radius, p, g, centre[j], surround[j])
				if err != nil {
					return nil, nil, err
				}
				stims = append(stims, m)
			}
			seen[p] = k
		}
		first[i] = k
	}
	return stims, first, nil
}

// MovingCircle moves a uniform disc of the given radius and intensity on grey from (y0, x0)
// at (vy, vx) pixels per frame for T frames (edges anti-aliased by 4×4 sampling).
func MovingCircle(h, w, t int, radius, y0, x0, vy, vx float64, intensity float32) datasets.Movie {
	m := datasets.NewMovie(t, h, w)
	const ss = 4
	for i := 0; i < t; i++ {
		cy, cx := y0+vy*float64(i), x0+vx*float64(i)
		f := m.Frame(i)
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				n := 0
				for a := 0; a < ss; a++ {
					for b := 0; b < ss; b++ {
						y := float64(r) + (float64(a)+0.5)/ss - 0.5
						x := float64(c) + (float64(b)+0.5)/ss - 0.5
						if math.Hypot(y-cy, x-cx) <= radius {
							n++
						}
					}
				}
				f[r*w+c] = intensity * float32(n) / (ss * ss)
			}
		}
	}
	return m
}

// WhiteNoise is T frames of checkerboard white noise with checks of checker pixels (checker ≥
// max(H, W): full-field flicker), Gaussian with SD contrast (binary: ±contrast), deterministic
// given seed.
func WhiteNoise(h, w, t int, contrast float64, checker int, binary bool, seed uint64) datasets.Movie {
	checker = max(checker, 1)
	rng := rand.New(rand.NewPCG(seed, 0xbb67ae8584caa73b))
	ch, cw := (h+checker-1)/checker, (w+checker-1)/checker
	checks := make([]float32, ch*cw)
	m := datasets.NewMovie(t, h, w)
	for i := 0; i < t; i++ {
		for k := range checks {
			if binary {
				checks[k] = float32(contrast)
				if rng.IntN(2) == 0 {
					checks[k] = -float32(contrast)
				}
			} else {
				checks[k] = float32(contrast * rng.NormFloat64())
			}
		}
		f := m.Frame(i)
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				f[r*w+c] = checks[(r/checker)*cw+c/checker]
			}
		}
	}
	return m
}

// FitToInput centres a movie in an H×W field: larger frames are cropped around their centre,
// smaller ones padded with mean grey (the reference's padding of stimuli to a model's input).
func FitToInput(m datasets.Movie, h, w int) datasets.Movie {
	out := datasets.NewMovie(m.T, h, w)
	oy, ox := (h-m.H)/2, (w-m.W)/2 // offset of m's origin in the output; negative = crop
	for t := 0; t < m.T; t++ {
		src, dst := m.Frame(t), out.Frame(t)
		for r := 0; r < h; r++ {
			sr := r - oy
			if sr < 0 || sr >= m.H {
				continue
			}
			for c := 0; c < w; c++ {
				if sc := c - ox; sc >= 0 && sc < m.W {
					dst[r*w+c] = src[sr*m.W+sc]
				}
			}
		}
	}
	return out
}

// Concat joins movies of the same frame size in time.
func Concat(movies ...datasets.Movie) (datasets.Movie, error) {
	if len(movies) == 0 {
		return datasets.Movie{}, fmt.Errorf("concat: no movies")
	}
	h, w, t := movies[0].H, movies[0].W, 0
	for i, m := range movies {
		if m.H != h || m.W != w {
			return datasets.Movie{}, fmt.Errorf("concat: movie %d has %d×%d frames, movie 0 %d×%d", i, m.H, m.W, h, w)
		}
		t += m.T
	}
	out := datasets.NewMovie(t, h, w)
	off := 0
	for _, m := range movies {
		copy(out.Data[off:], m.Data[:m.T*h*w])
		off += m.T * h * w
	}
	return out, nil
}

func fill(f []float32, v float32) {
	for i := range f {
		f[i] = v
	}
}

// overlap is the length of the intersection of [a0, a1] and [b0, b1].
func overlap(a0, a1, b0, b1 float64) float64 { return math.Max(0, math.Min(a1, b1)-math.Max(a0, b0)) }
