package main

import (
	"fmt"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena"
)

// Windowed is a responder cut down to what a feedforward model with a window of Window frames
// can know: its response at frame k is Inner's response to a movie that is the real stimulus
// over frames [k − Window, k) — exactly the frames a model's history window holds
// (datasets.Windows: the target at frame i+History is predicted from frames [i, i+History)) —
// and mean grey before them and at frame k itself. Inner starts every such movie from rest
// after InputShape()[0] frames of grey (phenomena.SimResponder: all filters at zero, the state
// adapted to a long grey screen), so nothing before the window reaches the response.
//
// Windowed{SimResponder, 40} is the "windowed truth": one particular feedforward function of a
// 40-frame window, the simulated retina run from its grey state on each window. It costs
// Window + 1 (+ Inner's history and lead-in) frames of Inner per output frame; give Inner a
// history of 0 and no lead-in (SimResponder.LeadIn 0; NewSimResponder sets 5 s) to keep it at
// Window + 1. Rest is the state adapted to the simulator's grey 0; with a Norm whose mean is
// not 0 (the run's truth) the window starts from that rest, not adapted to the mean as the
// battery's truth is (docs/validation.md, "The truth's lead-in and history (session 9)").
type Windowed struct {
	Inner  phenomena.Responder
	Window int
}

// InputShape implements phenomena.Responder: the window is the history.
func (w Windowed) InputShape() [3]int {
	s := w.Inner.InputShape()
	return [3]int{w.Window, s[1], s[2]}
}

// FrameRate implements phenomena.Responder.
func (w Windowed) FrameRate() float64 { return w.Inner.FrameRate() }

// PixelSizeUM implements phenomena.Responder.
func (w Windowed) PixelSizeUM() float64 { return w.Inner.PixelSizeUM() }

// Respond implements phenomena.Responder: stim [T, H, W] → rates [T − Window, N], row t the
// response at frame t + Window from frames [t, t + Window). Windows that are all grey share one
// call (the response to grey).
func (w Windowed) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	if w.Window < 1 {
		return datasets.Matrix{}, fmt.Errorf("window of %d frames: expected at least 1", w.Window)
	}
	h0 := w.Inner.InputShape()[0]
	fs := stim.H * stim.W
	rows := stim.T - w.Window
	if rows < 1 || len(stim.Data) != stim.T*fs {
		return datasets.Matrix{}, fmt.Errorf("stimulus [%d, %d, %d] with %d values: expected more than the window of %d frames", stim.T, stim.H, stim.W, len(stim.Data), w.Window)
	}
	buf := datasets.NewMovie(h0+w.Window+1, stim.H, stim.W)
	win := buf.Data[h0*fs : (h0+w.Window)*fs]
	var out datasets.Matrix
	var grey []float32
	for t := range rows {
		src := stim.Data[t*fs : (t+w.Window)*fs]
		isGrey := allZero(src)
		var row []float32
		if isGrey && grey != nil {
			row = grey
		} else {
			copy(win, src)
			r, err := w.Inner.Respond(buf)
			if err != nil {
				return datasets.Matrix{}, fmt.Errorf("window at frame %d: %w", t+w.Window, err)
			}
			if r.Rows != w.Window+1 {
				return datasets.Matrix{}, fmt.Errorf("window at frame %d: the inner responder returned %d rows for %d frames after its history; expected %d", t+w.Window, r.Rows, w.Window+1, w.Window+1)
			}
			row = r.Row(w.Window)
			if isGrey {
				grey = append([]float32(nil), row...)
			}
		}
		if out.Cols == 0 {
			out = datasets.NewMatrix(rows, len(row))
		}
		copy(out.Row(t), row)
	}
	return out, nil
}

func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
