package stimuli

import (
	"math"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// frameMean is the mean intensity of frame t.
func frameMean(m datasets.Movie, t int) float64 {
	s := 0.0
	for _, v := range m.Frame(t) {
		s += float64(v)
	}
	return s / float64(m.H*m.W)
}

// uniformLevels returns each frame's value, failing when a frame is not uniform.
func uniformLevels(t *testing.T, m datasets.Movie) []float32 {
	t.Helper()
	out := make([]float32, m.T)
	for i := 0; i < m.T; i++ {
		f := m.Frame(i)
		for _, v := range f {
			if v != f[0] {
				t.Fatalf("frame %d is not uniform", i)
			}
		}
		out[i] = f[0]
	}
	return out
}

func TestFullFieldStimuli(t *testing.T) {
	for _, tc := range []struct {
		name  string
		movie datasets.Movie
		want  map[int]float32 // frame → value; every other frame is grey
		n     int
	}{
		{"step 50/100/50 to −1", Step(4, 5, 50, 100, 50, -1), rangeOf(50, 150, -1), 200},
		{"flash", Flash(3, 3, 10, 2, 5, 2), rangeOf(10, 12, 2), 17},
		{"paired flash, gap 4", PairedFlash(3, 3, 10, 1, 4, 6, -2), merge(rangeOf(10, 11, -2), rangeOf(15, 16, -2)), 22},
		{"flash train of 3, period 8", FlashTrain(2, 2, 5, 2, 8, 3, 10, -2), merge(rangeOf(5, 7, -2), rangeOf(13, 15, -2), rangeOf(21, 23, -2)), 33},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.movie.T != tc.n {
				t.Fatalf("%d frames, want %d", tc.movie.T, tc.n)
			}
			for i, v := range uniformLevels(t, tc.movie) {
				if v != tc.want[i] {
					t.Fatalf("frame %d = %g, want %g", i, v, tc.want[i])
				}
			}
		})
	}
}

func rangeOf(from, to int, v float32) map[int]float32 {
	m := map[int]float32{}
	for i := from; i < to; i++ {
		m[i] = v
	}
	return m
}

func merge(ms ...map[int]float32) map[int]float32 {
	out := map[int]float32{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// barCentre returns the intensity-weighted mean column and the total of frame t.
func barCentre(m datasets.Movie, t int) (centre, total float64) {
	f := m.Frame(t)
	var s, sx float64
	for r := 0; r < m.H; r++ {
		for c := 0; c < m.W; c++ {
			v := float64(f[r*m.W+c])
			s += v
			sx += v * float64(c)
		}
	}
	return sx / s, s
}

func TestBars(t *testing.T) {
	h, w := 4, 20
	m := Bar(h, w, 3, 5, 2, 7.25, 2, -1)
	if m.T != 10 || frameMean(m, 2) != 0 || frameMean(m, 8) != 0 {
		t.Fatalf("flashed bar timing wrong: T=%d", m.T)
	}
	c, tot := barCentre(m, 3)
	if !near(c, 7.25, 1e-6) || !near(tot, -2*float64(h), 1e-5) {
		t.Errorf("bar centre %g (want 7.25), total %g (want %g)", c, tot, -2.0*float64(h))
	}

	pos := BarPositions(-2, 10, 0.5)
	if len(pos) != 25 || pos[0] != -2 || pos[24] != 10 || !near(pos[1]-pos[0], 0.5, 1e-12) {
		t.Fatalf("positions %v", pos)
	}
	if back := BarPositions(10, -2, 0.5); back[1] != 9.5 || back[len(back)-1] != -2 {
		t.Errorf("leftward positions %v", back)
	}
	d := DriftingBar(h, w, 2, 17, 0.25, 2, 1, 5)
	if d.T != 61+5 {
		t.Fatalf("drifting bar has %d frames, want 66", d.T)
	}
	for _, k := range []int{0, 13, 40, 60} {
		c, tot := barCentre(d, k)
		if !near(c, 2+0.25*float64(k), 1e-5) || !near(tot, 2*float64(h), 1e-4) {
			t.Errorf("frame %d: centre %g, total %g", k, c, tot)
		}
	}
	if frameMean(d, 62) != 0 {
		t.Error("grey after the drifting bar expected")
	}

	rev, turn, path := MotionReversal(h, w, 0, 9.5, 0.5, 2, -1, 10)
	if turn != 19 || len(path) != rev.T || path[turn] != 9.5 || path[turn+4] != 7.5 || rev.T != 30 {
		t.Fatalf("reversal at frame %d, path %v", turn, path)
	}
	if c, _ := barCentre(rev, turn+4); !near(c, 7.5, 1e-5) {
		t.Errorf("after the reversal the bar is at %g, want 7.5", c)
	}
}

func TestGratings(t *testing.T) {
	h, w := 6, 24
	sq := Grating{Period: 4, Contrast: 1, Square: true}.Frame(h, w)
	mean := 0.0
	for _, v := range sq {
		mean += float64(v)
		if math.Abs(float64(v)) > 1+1e-6 {
			t.Fatalf("square grating value %g beyond ±1", v)
		}
	}
	if !near(mean/float64(h*w), 0, 1e-6) {
		t.Errorf("square grating mean %g, want 0", mean/float64(h*w))
	}
	// Sinusoidal: half a period away the value flips sign; rows are equal at angle 0.
	sin := Grating{Period: 8, Contrast: 0.5}.Frame(h, w)
	for c := 0; c+4 < w; c++ {
		if !near(float64(sin[c]), -float64(sin[c+4]), 1e-6) || sin[c] != sin[3*w+c] {
			t.Fatalf("sinusoidal grating not antiperiodic at column %d", c)
		}
	}
	// Rotated by 90°: the pattern varies along rows instead.
	rot := Grating{Period: 4, AngleDeg: 90, Contrast: 1}.Frame(8, 8)
	if rot[0] != rot[7] || rot[0] == rot[16] {
		t.Error("a 90° grating should be constant along a row and vary down a column")
	}

	// Drifting at 1 px per frame: frame k is frame 0 shifted k columns.
	dr := DriftingGrating(h, w, 5, Grating{Period: 8, Contrast: 1}, 1)
	for c := 0; c+3 < w; c++ {
		if !near(float64(dr.Frame(0)[c]), float64(dr.Frame(3)[c+3]), 1e-5) {
			t.Fatalf("drifting grating: column %d of frame 0 differs from column %d of frame 3", c, c+3)
		}
	}

	// Reversing: polarity flips every halfPeriod frames.
	rv := ReversingGrating(h, w, 12, 3, 2, 1)
	for i := 0; i < rv.T; i++ {
		sign := float32(1)
		if (i/3)%2 == 1 {
			sign = -1
		}
		for p, v := range rv.Frame(i) {
			if v != sign*rv.Frame(0)[p] {
				t.Fatalf("frame %d pixel %d = %g, want %g", i, p, v, sign*rv.Frame(0)[p])
			}
		}
	}
	if frameMean(rv, 0) != 0 && math.Abs(frameMean(rv, 0)) > 1e-6 {
		t.Errorf("reversing grating mean %g", frameMean(rv, 0))
	}

	// Contrast reversal: frame t = sin(2π f t / rate) × the grating.
	g := Grating{Period: 6, Contrast: 1}
	cr := ContrastReversingGrating(h, w, 50, g, 2, 100)
	base := g.Frame(h, w)
	for _, i := range []int{0, 5, 12, 37} {
		a := math.Sin(2 * math.Pi * 2 * float64(i) / 100)
		if !near(float64(cr.Frame(i)[5]), a*float64(base[5]), 1e-6) {
			t.Errorf("frame %d: %g, want %g", i, cr.Frame(i)[5], a*float64(base[5]))
		}
	}
}

func TestJitterAndCircles(t *testing.T) {
	p := JitterPath(100, 0.5, 7)
	if p[0] != 0 {
		t.Fatalf("path starts at %g", p[0])
	}
	for i := 1; i < len(p); i++ {
		if !near(math.Abs(p[i]-p[i-1]), 0.5, 1e-12) {
			t.Fatalf("step %d is %g", i, p[i]-p[i-1])
		}
	}
	if q := JitterPath(100, 0.5, 7); q[99] != p[99] || q[50] != p[50] {
		t.Error("the same seed must give the same path")
	}
	if q := JitterPath(100, 0.5, 8); equal(q, p) {
		t.Error("different seeds gave the same path")
	}

	h, w, radius := 12, 12, 3.0
	g := Grating{Period: 4, Contrast: 1, Square: true}
	other := JitterPath(100, 0.5, 9)
	diff, err := DifferentialCircle(h, w, radius, g, p, other)
	if err != nil {
		t.Fatal(err)
	}
	glob := JitteredCircle(h, w, radius, g, p)
	cy, cx := float64(h-1)/2, float64(w-1)/2
	outsideDiffers := false
	for k := 0; k < 100; k++ {
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				a, b := diff.Frame(k)[r*w+c], glob.Frame(k)[r*w+c]
				if math.Hypot(float64(r)-cy, float64(c)-cx) <= radius {
					if a != b {
						t.Fatalf("frame %d: inside the disc differential %g ≠ global %g", k, a, b)
					}
				} else if a != b {
					outsideDiffers = true
				}
			}
		}
	}
	if !outsideDiffers {
		t.Error("the background of the differential stimulus never differs from the global one")
	}
	if _, err := DifferentialCircle(h, w, radius, g, p, p[:10]); err == nil || !strings.Contains(err.Error(), "100 frames") {
		t.Errorf("paths of different lengths: error %v", err)
	}

	mc := MovingCircle(20, 20, 3, 4, 10, 6, 0, 2, 1)
	for k := 0; k < 3; k++ {
		c, tot := barCentre(mc, k)
		if !near(tot, math.Pi*16, 1.5) || !near(c, 6+2*float64(k), 0.05) {
			t.Errorf("frame %d: disc area %g (want %.1f), centre %g", k, tot, math.Pi*16, c)
		}
	}
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWhiteNoise(t *testing.T) {
	m := WhiteNoise(10, 10, 400, 0.35, 1, false, 3)
	var s, s2 float64
	for _, v := range m.Data {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(m.Data))
	sd := math.Sqrt(s2/n - (s/n)*(s/n))
	if !near(sd, 0.35, 0.01) || !near(s/n, 0, 0.01) {
		t.Errorf("Gaussian noise: mean %g SD %g, want 0 and 0.35", s/n, sd)
	}
	b := WhiteNoise(6, 6, 20, 0.7, 3, true, 3)
	for i := 0; i < b.T; i++ {
		f := b.Frame(i)
		for r := 0; r < 6; r++ {
			for c := 0; c < 6; c++ {
				v := f[r*6+c]
				if v != 0.7 && v != -0.7 {
					t.Fatalf("binary noise value %g", v)
				}
				if v != f[(r/3*3)*6+c/3*3] {
					t.Fatalf("checks of 3 px are not uniform at (%d,%d)", r, c)
				}
			}
		}
	}
	ff := WhiteNoise(5, 7, 30, 1, 7, false, 4)
	uniformLevels(t, ff) // full field: checks as large as the field
	again := WhiteNoise(10, 10, 400, 0.35, 1, false, 3)
	if !equal32(again.Data, m.Data) {
		t.Error("the same seed must give the same noise")
	}
}

func equal32(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestFitToInputAndConcat(t *testing.T) {
	src := datasets.NewMovie(2, 2, 3)
	for i := range src.Data {
		src.Data[i] = float32(i + 1)
	}
	pad := FitToInput(src, 4, 5)
	if pad.T != 2 || pad.H != 4 || pad.W != 5 {
		t.Fatalf("padded shape [%d %d %d]", pad.T, pad.H, pad.W)
	}
	// The 2×3 frame sits at rows 1–2, columns 1–3; the rest is grey.
	want := []float32{0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0}
	if !equal32(pad.Frame(0), want) {
		t.Errorf("padded frame %v, want %v", pad.Frame(0), want)
	}
	crop := FitToInput(pad, 2, 3)
	if !equal32(crop.Data, src.Data) {
		t.Errorf("cropping the padding back gives %v, want %v", crop.Data, src.Data)
	}

	c, err := Concat(Grey(3, 2, 3), src)
	if err != nil || c.T != 5 || c.Frame(3)[0] != 1 || c.Frame(2)[0] != 0 {
		t.Fatalf("concat: %v, T=%d", err, c.T)
	}
	if _, err := Concat(src, Grey(1, 3, 3)); err == nil || !strings.Contains(err.Error(), "3×3") {
		t.Errorf("concat of different frame sizes: %v", err)
	}
}

// TestJumpPath: jumps of ±step with the given probability (within 4 SD over 20,000 frames),
// deterministic given the seed.
func TestJumpPath(t *testing.T) {
	p := JumpPath(20000, 1, 0.3, 5)
	jumps := 0
	for i := 1; i < len(p); i++ {
		switch d := p[i] - p[i-1]; d {
		case 1, -1:
			jumps++
		case 0:
		default:
			t.Fatalf("step %v at %d", d, i)
		}
	}
	if frac, sd := float64(jumps)/19999, math.Sqrt(0.3*0.7/19999); math.Abs(frac-0.3) > 4*sd {
		t.Errorf("jump fraction %.4f, want 0.3 ± %.4f", frac, 4*sd)
	}
	q := JumpPath(20000, 1, 0.3, 5)
	for i := range p {
		if p[i] != q[i] {
			t.Fatal("not deterministic")
		}
	}
}
