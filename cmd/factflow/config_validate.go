package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newConfigValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|DIR",
		Short: "Validate pipeline YAML files",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("not wired yet")
		},
	}
}
