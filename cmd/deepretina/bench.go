package main

import (
	"github.com/spf13/cobra"
)

func benchCmd() *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "Training speed of the full-size BNCNN vs PyTorch", Hidden: true}
}
