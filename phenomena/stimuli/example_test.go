package stimuli_test

import (
	"fmt"

	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// Example builds a full-field step on a 4×4 field: 2 frames of grey, 3 at +1.5 SD, 1 of grey.
func Example() {
	m := stimuli.Step(4, 4, 2, 3, 1, 1.5)
	for t := range m.T {
		fmt.Print(m.Frame(t)[0], " ")
	}
	fmt.Println("|", m.T, "frames of", m.H, "×", m.W)
	// Output:
	// 0 0 1.5 1.5 1.5 0 | 6 frames of 4 × 4
}
