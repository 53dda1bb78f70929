package phenomena

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
)

// Responder is anything that maps a stimulus movie to firing rates: a trained model
// (ModelResponder) or the simulated retina (SimResponder).
//
// Stimuli are in z-scored intensity units, as in the reference's battery: 0 is the mean grey
// and 1 one standard deviation of the stimulus the model was trained on. Each responder maps
// them to its own raw units: the model with its run's NormStats, the run's simulated truth
// (TruthForRun) with the same NormStats, so both are shown one physical stimulus.
type Responder interface {
	// InputShape is [history, H, W]: the frames of stimulus each output row depends on and the
	// frame size.
	InputShape() [3]int
	// FrameRate is the stimulus frame rate in Hz.
	FrameRate() float64
	// PixelSizeUM is the size of one stimulus pixel on the retina, in µm.
	PixelSizeUM() float64
	// Respond maps stim [T, H, W] to rates [T−history, N] in Hz: row t is the response at frame
	// t+history.
	Respond(stim datasets.Movie) (datasets.Matrix, error)
}

// Run presents stim to r after `history` frames of mean grey (z = 0, which each responder maps
// to its normalisation's mean) and returns the rates aligned with the stimulus: [T, N], row t
// the response at frame t of stim. It checks the frame size and that the responder returned
// one finite row per frame.
func Run(r Responder, stim datasets.Movie) (datasets.Matrix, error) {
	shape := r.InputShape()
	history, h, w := shape[0], shape[1], shape[2]
	if stim.H != h || stim.W != w {
		return datasets.Matrix{}, fmt.Errorf("stimulus frames are %d×%d; the responder expects %d×%d", stim.H, stim.W, h, w)
	}
	if len(stim.Data) != stim.T*h*w {
		return datasets.Matrix{}, fmt.Errorf("stimulus holds %d values for [%d, %d, %d]", len(stim.Data), stim.T, h, w)
	}
	padded := datasets.NewMovie(history+stim.T, h, w)
	copy(padded.Data[history*h*w:], stim.Data)
	rates, err := r.Respond(padded)
	if err != nil {
		return datasets.Matrix{}, err
	}
	if rates.Rows != stim.T || rates.Cols < 1 || len(rates.Data) != rates.Rows*rates.Cols {
		return datasets.Matrix{}, fmt.Errorf("responder returned [%d, %d] rates for %d frames (+%d of history); expected [%d, N ≥ 1]", rates.Rows, rates.Cols, stim.T, history, stim.T)
	}
	for i, v := range rates.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return datasets.Matrix{}, fmt.Errorf("responder returned a non-finite rate (%v) at frame %d, cell %d", v, i/rates.Cols, i%rates.Cols)
		}
	}
	return rates, nil
}

// ModelResponder adapts a trained model: stimuli in z-scored units are mapped to the model's
// raw units with its stored normalisation (raw = mean + std·z), which Predict then undoes, so
// the network sees exactly the z-scored stimulus.
type ModelResponder struct {
	Model *retina.Model
}

// InputShape implements Responder.
func (m ModelResponder) InputShape() [3]int { return m.Model.Meta.InputShape }

// FrameRate implements Responder.
func (m ModelResponder) FrameRate() float64 {
	return positiveOr(m.Model.Meta.FrameRate, datasets.DefaultFrameRate)
}

// PixelSizeUM implements Responder.
func (m ModelResponder) PixelSizeUM() float64 {
	return positiveOr(m.Model.Meta.PixelSizeUM, datasets.DefaultPixelSizeUM)
}

// Respond implements Responder.
func (m ModelResponder) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	return m.Model.Predict(rawStimulus(m.Model.Meta.NormStats, stim))
}

// rawStimulus maps a stimulus in the battery's z-scored units to the raw units a normalisation
// was computed in: raw = mean + std·z. ModelResponder and a SimResponder with a Norm share it,
// so that a model and its truth are shown the same raw values to the last bit.
func rawStimulus(norm datasets.NormStats, stim datasets.Movie) datasets.Movie {
	raw := datasets.NewMovie(stim.T, stim.H, stim.W)
	for i, z := range stim.Data {
		raw.Data[i] = float32(norm.Mean + norm.Std*float64(z))
	}
	return raw
}

func positiveOr(v, def float64) float64 {
	if v > 0 && !math.IsInf(v, 0) {
		return v
	}
	return def
}
