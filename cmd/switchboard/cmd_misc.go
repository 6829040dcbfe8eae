package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/tickets"
)

func migrateCmd(f *rootFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withData(cmd, f, func(*app) error {
				fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
				return nil
			})
		},
	}
}

// withData opens the configured database (migrating it), runs fn and closes it.
func withData(cmd *cobra.Command, f *rootFlags, fn func(*app) error) error {
	cfg, err := f.load()
	if err != nil {
		return err
	}
	a, err := openData(cmd.Context(), cfg, cfg.Logger(os.Stderr))
	if err != nil {
		return err
	}
	defer a.close(cmd.Context())
	return fn(a)
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

func usersCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Staff sign-ins for the web console"}
	// withStore runs fn on the ticket store of the configured database.
	withStore := func(cmd *cobra.Command, fn func(*tickets.Store) error) error {
		return withData(cmd, f, func(a *app) error {
			if err := a.openTickets(cmd.Context()); err != nil {
				return err
			}
			return fn(a.store)
		})
	}
	var role string
	set := &cobra.Command{
		Use:   "set SUBJECT",
		Short: "Create or change a staff sign-in; the password is read from standard input",
		Long: `Creates or replaces the console sign-in of SUBJECT (for an agent, the agent id of
PUT /v1/agents/:id) with a role and the password read from the first line of standard
input (10 to 72 bytes; stored as a bcrypt hash). The change is audited, and the tokens
the old sign-in gave out stop working within 15 s.`,
		Example: `  printf '%s\n' 'correct horse battery' | switchboard users set alice --role agent`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(gateway.Roles, gateway.Role(role)) || role == string(gateway.RoleCustomer) {
				return fmt.Errorf("unknown staff role %q: want one of agent, supervisor, admin, ml-engineer, auditor", role)
			}
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("read the password from standard input: %w", err)
			}
			hash, err := gateway.HashPassword(strings.TrimRight(line, "\r\n"))
			if err != nil {
				return err
			}
			return withStore(cmd, func(st *tickets.Store) error {
				if err := st.PutStaffAccount(cmd.Context(), tickets.StaffAccount{Subject: args[0], Role: role, PasswordHash: hash}); err != nil {
					return err
				}
				if err := st.AppendAudit(cmd.Context(), nil, "cli", "staff.set", "staff:"+args[0], map[string]string{"role": role}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s can sign in as %s\n", args[0], role)
				return nil
			})
		},
	}
	set.Flags().StringVar(&role, "role", "agent", "role: agent, supervisor, admin, ml-engineer, auditor")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the staff sign-ins and their roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(st *tickets.Store) error {
				accts, err := st.ListStaffAccounts(cmd.Context())
				if err != nil {
					return err
				}
				for _, a := range accts {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", a.Subject, a.Role)
				}
				return nil
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete SUBJECT",
		Short: "Remove a staff sign-in; the tokens it gave out stop working within 15 s",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(st *tickets.Store) error {
				if err := st.DeleteStaffAccount(cmd.Context(), args[0]); err != nil {
					return err
				}
				if err := st.AppendAudit(cmd.Context(), nil, "cli", "staff.delete", "staff:"+args[0], nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s can no longer sign in\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(set, list, del)
	return cmd
}
