package measures_test

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/phenomena/measures"
)

// Example measures a response with a frequency-doubled component: 1 s at 100 Hz of a 10-Hz
// mean rate, 3 Hz of modulation at the stimulus's 2 Hz and 1.5 Hz at twice that.
func Example() {
	r := make([]float64, 100)
	for t := range r {
		s := float64(t) / 100
		r[t] = 10 + 3*math.Sin(2*math.Pi*2*s) + 1.5*math.Sin(2*math.Pi*4*s)
	}
	fmt.Printf("F1 %.3f Hz, F2 %.3f Hz, F2/F1 %.3f\n",
		measures.Amplitude(r, 2, 100), measures.Amplitude(r, 4, 100), measures.HarmonicRatio(r, 2, 100))
	// Output:
	// F1 3.000 Hz, F2 1.500 Hz, F2/F1 0.500
}
