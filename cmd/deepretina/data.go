package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
)

func dataCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Inspect recordings"}
	cmd.AddCommand(&cobra.Command{
		Use:   "info PATH.h5",
		Short: "Print shapes, cells, duration, firing rates and test-repeat reliability of a recording (or the groups of an interneuron file)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := args[0]
			stim := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
			rec, err := datasets.LoadFile(path, stim, nil)
			if err != nil {
				// An interneuron file is not a recording, but it is a file this tool reads.
				if set, ierr := datasets.LoadInterneuronFile(path); ierr == nil {
					printInterneurons(set, path)
					return nil
				}
				return err
			}
			printInfo(rec, path)
			return nil
		},
	})
	return cmd
}

func printInfo(rec *datasets.Recording, path string) {
	fmt.Printf("file        %s (recording)\n", path)
	fmt.Printf("experiment  %s   stimulus %s\n", rec.Expt, rec.Stim)
	fmt.Printf("provenance  %s\n", rec.Provenance)
	fmt.Printf("content     %d bytes, SHA-256 of the data read %s\n", rec.Source.Size, rec.Source.SHA256)
	fmt.Printf("frame rate  %g Hz   pixel %g µm\n", rec.FrameRate, rec.PixelSizeUM)
	for _, sp := range []struct {
		name string
		s    datasets.Split
	}{{"train", rec.Train}, {"test", rec.Test}} {
		st := sp.s.Stimulus
		fmt.Printf("%-5s       stimulus [%d,%d,%d] (%.1f s)", sp.name, st.T, st.H, st.W, float64(st.T)/rec.FrameRate)
		if len(sp.s.Repeats) > 0 {
			fmt.Printf("   %d repeats", len(sp.s.Repeats[0]))
		}
		fmt.Println()
	}
	switch n := rec.Test.CountTrials; {
	case rec.Test.Counts.Data == nil:
		fmt.Println("test counts none (bits/spike n/a)")
	case n == 0:
		fmt.Println("test counts unknown convention: neither one repeat's counts nor their sum (bits/spike n/a)")
	case n == 1:
		fmt.Println("test counts of one repeat")
	default:
		fmt.Printf("test counts summed over %d repeats\n", n)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cell\ttrain rate (Hz)\ttest rate (Hz)\treliability\t")
	n := rec.NCells()
	for c, id := range rec.CellIDs {
		rel := math.NaN() // fewer than 2 repeats: unavailable
		if len(rec.Test.Repeats) == n {
			rel = metrics.SplitHalfReliability(rec.Test.Repeats[c])
		}
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%s\t\n", id, meanCol(rec.Train.Rates, c), meanCol(rec.Test.Rates, c), orNA(rel))
	}
	tw.Flush()
}

// printInterneurons describes an interneuron file: its cell type and stimulus groups.
func printInterneurons(set *datasets.InterneuronSet, path string) {
	fmt.Printf("file        %s (interneuron recordings, not a ganglion-cell recording)\n", path)
	fmt.Printf("cell type   %s\n", set.CellType)
	fmt.Printf("provenance  %s\n", set.Provenance)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\tstimuli [T,H,W]\tcells\t")
	for _, g := range set.Groups {
		s := g.Stimuli
		fmt.Fprintf(tw, "%s\t[%d,%d,%d]\t%d\t\n", g.Name, s.T, s.H, s.W, g.Potentials.Cols)
	}
	tw.Flush()
}

func orNA(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", x)
}

func meanCol(m datasets.Matrix, c int) float64 {
	var s float64
	for r := 0; r < m.Rows; r++ {
		s += float64(m.At(r, c))
	}
	return s / float64(max(1, m.Rows))
}
