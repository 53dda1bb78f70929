package main

import (
	"fmt"
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
		Short: "Print shapes, cells, duration, firing rates and test-repeat reliability of a recording",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := args[0]
			stim := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
			rec, err := datasets.LoadFile(path, stim, nil)
			if err != nil {
				return err
			}
			printInfo(rec, path)
			return nil
		},
	})
	return cmd
}

func printInfo(rec *datasets.Recording, path string) {
	fmt.Printf("file        %s\n", path)
	fmt.Printf("experiment  %s   stimulus %s\n", rec.Expt, rec.Stim)
	fmt.Printf("provenance  %s\n", rec.Provenance)
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
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cell\ttrain rate (Hz)\ttest rate (Hz)\treliability\t")
	n := rec.NCells()
	for c, id := range rec.CellIDs {
		rel := "-"
		if len(rec.Test.Repeats) == n {
			rel = fmt.Sprintf("%.3f", metrics.SplitHalfReliability(rec.Test.Repeats[c]))
		}
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%s\t\n", id, meanCol(rec.Train.Rates, c), meanCol(rec.Test.Rates, c), rel)
	}
	tw.Flush()
}

func meanCol(m datasets.Matrix, c int) float64 {
	var s float64
	for r := 0; r < m.Rows; r++ {
		s += float64(m.At(r, c))
	}
	return s / float64(max(1, m.Rows))
}
