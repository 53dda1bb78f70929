package metrics

import "sort"

// EqualCountBins sorts (x, y) pairs by x into `bins` bins of equal count and returns each
// bin's mean x (ascending) and mean y: the binned static nonlinearity of an LN model, with x
// the generator signal and y the response. Empty bins (more bins than pairs) are left out.
// x and y must have the same length.
func EqualCountBins(x, y []float64, bins int) (meanX, meanY []float64) {
	order := make([]int, len(x))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return x[order[a]] < x[order[b]] })
	for b := 0; b < bins; b++ {
		lo, hi := b*len(order)/bins, (b+1)*len(order)/bins
		if hi <= lo {
			continue
		}
		var sx, sy float64
		for _, i := range order[lo:hi] {
			sx += x[i]
			sy += y[i]
		}
		meanX = append(meanX, sx/float64(hi-lo))
		meanY = append(meanY, sy/float64(hi-lo))
	}
	return meanX, meanY
}
