package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway"
)

func migrateCmd(f *rootFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			a, err := openData(cmd.Context(), cfg, cfg.Logger(os.Stderr))
			if err != nil {
				return err
			}
			a.close(cmd.Context())
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
			return nil
		},
	}
}

func tokenCmd(f *rootFlags) *cobra.Command {
	var role string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token SUBJECT",
		Short: "Print a signed bearer token (HS256) for an agent or user id",
		Example: `  switchboard token alice --role agent
  switchboard token boss --role supervisor --ttl 1h`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			secret, err := jwtSecret(cfg)
			if err != nil {
				return err
			}
			auth, err := gateway.NewAuth(secret, "", cfg.Auth.Issuer)
			if err != nil {
				return err
			}
			if ttl == 0 {
				ttl = cfg.Auth.TokenTTL
			}
			known := false
			for _, r := range gateway.Roles {
				known = known || string(r) == role
			}
			if !known {
				return fmt.Errorf("unknown role %q: want one of %v", role, gateway.Roles)
			}
			tok, err := auth.Issue(args[0], gateway.Role(role), ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "agent", "role: customer, agent, supervisor, admin, ml-engineer, auditor")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "validity (default auth.token_ttl)")
	return cmd
}
