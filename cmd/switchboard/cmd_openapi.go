package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway/openapi"
)

// openapiCmd prints the OpenAPI description of the REST API, or the reference rendered
// from it (docs/api.md).
func openapiCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI 3.1 description of the REST API (also served at /openapi.json)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := openapi.JSON()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
			return err
		},
	}
	docs := &cobra.Command{
		Use:   "docs",
		Short: "Render the API reference in Markdown from the description (docs/api.md is its output)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return openapi.Markdown(cmd.Context(), cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(docs)
	return cmd
}
