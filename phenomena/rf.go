package phenomena

import (
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/measures"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// rfNoiseSeconds is the length of the white noise from which receptive fields are mapped.
const rfNoiseSeconds = 15

// ReceptiveFieldCentres maps each cell's receptive field with 15 s of binary white noise
// (1-pixel checks, contrast 1): the spike-triggered average of every pixel at lags up to the
// history (or 0.3 s), the lag where it varies most, and there the centroid of |average| within
// 3 pixels of its (3×3-smoothed) peak (SpatialCentre). A cell that does not
// respond gets NaN coordinates.
func ReceptiveFieldCentres(r Responder) ([]stimuli.Point, error) { return receptiveFieldCentres(r, 0) }

// receptiveFieldCentres maps with the noise of a seed (0: the public function's noise).
func receptiveFieldCentres(r Responder, seed uint64) ([]stimuli.Point, error) {
	if m, ok := r.(*memo); ok {
		if p, ok := m.rfs[seed]; ok {
			return p, nil
		}
		p, err := receptiveFieldCentres(m.Responder, seed)
		if err == nil {
			m.rfs[seed] = p
		}
		return p, err
	}
	g := geometryOf(r)
	stim := stimuli.WhiteNoise(g.h, g.w, g.frames(rfNoiseSeconds), 1, rfChecker(g), true, 401+1000*seed)
	rates, err := Run(r, stim)
	if err != nil {
		return nil, err
	}
	lags := g.filterLags()
	out := make([]stimuli.Point, rates.Cols)
	for c := range out {
		out[c] = SpatialCentre(stim, measures.Column(rates, c), lags)
	}
	return out, nil
}

// SpatialCentre locates the receptive field of one cell from its rate (one value per frame of
// stim): see ReceptiveFieldCentres.
//
//	stim: [T, H, W] white noise; rate: [T]
func SpatialCentre(stim datasets.Movie, rate []float64, lags int) stimuli.Point {
	p := stim.H * stim.W
	rm := measures.Mean(rate)
	best, bestVar := []float64(nil), 0.0
	for lag := 0; lag < lags; lag++ {
		sta := make([]float64, p)
		for t := lag; t < stim.T; t++ {
			d := rate[t] - rm
			if d == 0 {
				continue
			}
			f := stim.Frame(t - lag)
			for i, v := range f {
				sta[i] += d * float64(v)
			}
		}
		if v := variance(sta); v > bestVar {
			best, bestVar = sta, v
		}
	}
	if best == nil {
		return stimuli.Point{Y: math.NaN(), X: math.NaN()}
	}
	// The peak of the smoothed |map| (3×3 box), then the centroid of |map| within 3 pixels of it:
	// single-pixel noise neither moves the peak nor drags the centroid towards the field centre.
	h, w := stim.H, stim.W
	smooth := func(y, x int) float64 {
		s := 0.0
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				if yy, xx := y+dy, x+dx; yy >= 0 && yy < h && xx >= 0 && xx < w {
					s += math.Abs(best[yy*w+xx])
				}
			}
		}
		return s
	}
	py, px, top := 0, 0, -1.0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if v := smooth(y, x); v > top {
				py, px, top = y, x, v
			}
		}
	}
	var sw, sy, sx float64
	for y := max(0, py-3); y <= min(h-1, py+3); y++ {
		for x := max(0, px-3); x <= min(w-1, px+3); x++ {
			if math.Hypot(float64(y-py), float64(x-px)) <= 3 {
				a := math.Abs(best[y*w+x])
				sw += a
				sy += a * float64(y)
				sx += a * float64(x)
			}
		}
	}
	return stimuli.Point{Y: sy / sw, X: sx / sw}
}

func variance(x []float64) float64 {
	m := measures.Mean(x)
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return s / float64(len(x))
}

// rfChecker is the check size of the mapping noise: 1 pixel on fields up to 37 pixels, larger
// on larger fields, so that the map of a 50-pixel field is not lost in pixel noise.
func rfChecker(g geometry) int { return max(1, int(math.Round(float64(max(g.h, g.w))/25))) }
