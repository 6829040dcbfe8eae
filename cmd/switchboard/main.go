// Command switchboard is the Switchboard customer-service gateway: one
// binary that serves the API, migrates the database, checks the set-up and
// runs benchmarks and evaluations. It wires the packages together in one place;
// the harnesses it runs live in their packages (asr/asreval, gateway/turnbench,
// gateway/visionbench, gateway/flow/faqeval …), and what remains here is command
// plumbing: flags, configuration, environment checks (doctor) and the CLI tools'
// input and output.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

type rootFlags struct{ configPath string }

func rootCmd() *cobra.Command {
	f := &rootFlags{}
	root := &cobra.Command{
		Use:           "switchboard",
		Short:         "AI-first customer-service gateway: bot channels, AI pipeline, ticket core",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&f.configPath, "config", "c", os.Getenv("SWITCHBOARD_CONFIG"),
		"YAML configuration file (env SWITCHBOARD_CONFIG); without one, embedded defaults are used")
	root.AddCommand(serveCmd(f), migrateCmd(f), doctorCmd(f), benchCmd(f), tokenCmd(f), redactCmd(f), piiCmd(f), kbCmd(f), askCmd(f), modelsCmd(f), visionCmd(f), asrCmd(f), usersCmd(f), qualityCmd(f))
	root.AddCommand(outboxCmd(f), auditCmd(f), customersCmd(f), keysCmd(f))
	root.AddCommand(openapiCmd())
	return root
}

func (f *rootFlags) load() (config.Config, error) {
	cfg, err := config.Load(f.configPath, os.Environ())
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}
