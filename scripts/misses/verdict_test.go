package main

import (
	"testing"

	"github.com/deepretina/deepretina/phenomena"
)

// TestPassedFollowsTheRole: a phenomenon passes on the cells shown on every seed; a sanity check
// passes on its medians, and only when they meet the criterion on every seed.
func TestPassedFollowsTheRole(t *testing.T) {
	om, err := phenomena.Lookup("object_motion")
	if err != nil {
		t.Fatal(err)
	}
	if passed(om, &responderResult{Seeds: []seedResult{{}, {}}}) {
		t.Error("object motion passed with no cell shown")
	}
	if !passed(om, &responderResult{Seeds: []seedResult{{}, {}}, Shown: []int{3}}) {
		t.Error("object motion not passed with cell 3 shown")
	}

	step, err := phenomena.Lookup("step_response")
	if err != nil {
		t.Fatal(err)
	}
	ok := phenomena.Metrics{"onset_peak_hz": 50, "transience": 0.6}
	flat := phenomena.Metrics{"onset_peak_hz": 50, "transience": 0.1}
	if !passed(step, &responderResult{Seeds: []seedResult{{Medians: ok}, {Medians: ok}}}) {
		t.Error("step response not passed with transient medians on both seeds")
	}
	if passed(step, &responderResult{Seeds: []seedResult{{Medians: ok}, {Medians: flat}}, Shown: []int{0, 1}}) {
		t.Error("step response passed though seed 2's medians are sustained (cells shown do not count for a sanity check)")
	}
	if passed(step, &responderResult{}) {
		t.Error("step response passed on no seed")
	}
}
