package datasets

import (
	"math"
	"strings"
	"testing"
)

// Recordings built in memory (by the simulator, by a notebook) are checked by Validate with the
// same vocabulary as the files: dataset names and positions in the file's layout.
// ValidateResponses finds the same faults except in the stimuli's values (stimulus: true).
func TestRecordingValidateNamesDatasetAndPosition(t *testing.T) {
	for _, tc := range []struct {
		name     string
		modify   func(*Recording)
		want     []string
		stimulus bool
	}{
		{"NaN in a repeat", func(r *Recording) { r.Test.Repeats[1][1][3] = float32(math.NaN()) },
			[]string{"test/repeats/cell02", "value at [1, 3] is NaN", "repeat 1, frame 3"}, false},
		{"Inf in rates", func(r *Recording) { r.Train.Rates.Set(5, 1, float32(math.Inf(1))) },
			[]string{"train/response/firing_rate_10ms", "value at [1, 5] is +Inf"}, false},
		{"negative rate", func(r *Recording) { r.Test.Rates.Set(2, 0, -3) },
			[]string{"test/response/firing_rate_10ms", "value at [0, 2] is -3", "negative"}, false},
		{"negative count", func(r *Recording) { r.Train.Counts.Set(4, 1, -1) },
			[]string{"train/response/binned", "value at [1, 4] is -1", "negative"}, false},
		{"negative repeat", func(r *Recording) { r.Test.Repeats[0][1][2] = -0.5 },
			[]string{"test/repeats/cell01", "value at [1, 2]", "negative"}, false},
		{"constant training stimulus", func(r *Recording) { clear(r.Train.Stimulus.Data) },
			[]string{"train/stimulus", "constant", "every value is 0"}, true},
		{"constant test stimulus", func(r *Recording) {
			for i := range r.Test.Stimulus.Data {
				r.Test.Stimulus.Data[i] = 0.5
			}
		}, []string{"test/stimulus", "constant", "every value is 0.5"}, true},
		{"NaN in the stimulus", func(r *Recording) { r.Train.Stimulus.Frame(2)[1*3+2] = float32(math.NaN()) },
			[]string{"train/stimulus", "value at [2, 1, 2] is NaN"}, true},
		{"short time axis", func(r *Recording) { r.Train.Time = r.Train.Time[:3] },
			[]string{"train/time", "expected 10 values", "got 3"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h5tRecording(10, 5, 3, 3, []int{1, 2}, 2, 5)
			if err := rec.Validate(); err != nil {
				t.Fatalf("unmodified recording: %v", err)
			}
			tc.modify(rec)
			err := rec.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			switch err2 := rec.ValidateResponses(); {
			case tc.stimulus && err2 != nil:
				t.Errorf("ValidateResponses read the stimulus: %v", err2)
			case !tc.stimulus && (err2 == nil || err2.Error() != err.Error()):
				t.Errorf("ValidateResponses: %v, want %v", err2, err)
			}
		})
	}
}

// A test set with fewer than two repeats is valid data: the metrics that need repeats are
// reported as unavailable later, so loading must not fail.
func TestRecordingWithOneRepeatIsValid(t *testing.T) {
	rec := h5tRecording(10, 5, 3, 3, []int{1, 2}, 1, 5)
	if err := rec.Validate(); err != nil {
		t.Fatal(err)
	}
	rec.Test.Repeats = nil
	if err := rec.Validate(); err != nil {
		t.Fatal(err)
	}
}
