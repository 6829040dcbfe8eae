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

// withData is how every CLI command opens the data: it opens the configured database
// (migrating it), runs fn and closes it. With the embedded PostgreSQL it uses the one of
// a running `switchboard serve` on the same data directory, never starting or stopping
// it; with none running it starts its own and holds the directory until fn returns.
func withData(cmd *cobra.Command, f *rootFlags, fn func(*app) error) error {
	cfg, err := f.load()
	if err != nil {
		return err
	}
	use := dataUse{command: strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")}
	a, err := openData(cmd.Context(), cfg, cfg.Logger(os.Stderr), use)
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
		Short: "Print a signed bearer token (HS256) for an agent or user id; audited and revocable",
		Long: `Prints a bearer token for SUBJECT with a role, valid for --ttl (at most
auth.max_minted_ttl). Each token gets an id (jti), noted on standard error, and an
audit row token.mint (subject, role, ttl, jti); without the audit row no token is
printed. "switchboard token revoke" revokes one token by its id or every token of a
subject; running servers refuse it within 15 s.`,
		Example: `  switchboard token alice --role agent
  switchboard token boss --role supervisor --ttl 1h
  switchboard token revoke --jti 6f1c…`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return mintToken(cmd, f, args[0], role, ttl)
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "role (required): customer, agent, supervisor, admin, ml-engineer, auditor")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "validity (default auth.token_ttl; at most auth.max_minted_ttl)")
	_ = cmd.MarkFlagRequired("role")
	cmd.AddCommand(tokenRevokeCmd(f))
	return cmd
}

// mintToken prints a token once its audit row (token.mint) is written.
func mintToken(cmd *cobra.Command, f *rootFlags, subject, role string, ttl time.Duration) error {
	cfg, err := f.load()
	if err != nil {
		return err
	}
	if !slices.Contains(gateway.Roles, gateway.Role(role)) {
		return fmt.Errorf("unknown role %q: want one of %v", role, gateway.Roles)
	}
	if ttl == 0 {
		ttl = min(cfg.Auth.TokenTTL, cfg.Auth.MaxMintedTTL)
	}
	if ttl < 0 || ttl > cfg.Auth.MaxMintedTTL {
		return fmt.Errorf("--ttl %s: want more than 0 and at most auth.max_minted_ttl (%s)", ttl, cfg.Auth.MaxMintedTTL)
	}
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}
	auth, err := gateway.NewAuth(secret, "", cfg.Auth.Issuer, gateway.WithAudience(cfg.Auth.Audience))
	if err != nil {
		return err
	}
	tok, claims, err := auth.Mint(subject, gateway.Role(role), ttl)
	if err != nil {
		return err
	}
	detail := map[string]string{"subject": subject, "role": role, "ttl": ttl.String(), "jti": claims.ID,
		"expires_at": claims.ExpiresAt.UTC().Format(time.RFC3339)}
	err = withData(cmd, f, func(a *app) error {
		if err := a.openTickets(cmd.Context()); err != nil {
			return err
		}
		return a.store.AppendAudit(cmd.Context(), nil, "cli", "token.mint", "token:"+claims.ID, detail)
	})
	if err != nil {
		return fmt.Errorf("no token without its audit row: %w", err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), tok)
	// A note for a person at a terminal; output captured with the token stays the token.
	if w, ok := cmd.ErrOrStderr().(*os.File); ok {
		fmt.Fprintf(w, "token id (jti) %s, expires %s; revoke with: switchboard token revoke --jti %s\n",
			claims.ID, detail["expires_at"], claims.ID)
	}
	return nil
}

func tokenRevokeCmd(f *rootFlags) *cobra.Command {
	var jti, subject string
	cmd := &cobra.Command{
		Use:   "revoke (--jti ID | --subject SUBJECT)",
		Short: "Revoke one token by its id, or every token of a subject issued until now",
		Long: `Revokes a bearer token by its id (jti, printed when it was minted), or every token
of SUBJECT issued until now: minted, console sign-ins, customer tokens, and an identity
provider's. Running servers refuse them within 15 s, on open WebSockets too (closed with
code 4401). The revocation is audited (token.revoke) and kept until every token it can
match has expired: the longest of auth.max_minted_ttl, auth.token_ttl and the 24 h of
anonymous chat tokens.`,
		Example: `  switchboard token revoke --jti 0b7e4b52-…
  switchboard token revoke --subject alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (jti == "") == (subject == "") {
				return fmt.Errorf("give exactly one of --jti and --subject")
			}
			cfg, err := f.load()
			if err != nil {
				return err
			}
			keep := max(cfg.Auth.MaxMintedTTL, cfg.Auth.TokenTTL, gateway.AnonymousTokenTTL)
			return withData(cmd, f, func(a *app) error {
				if err := a.openTickets(cmd.Context()); err != nil {
					return err
				}
				r, err := a.store.RevokeTokens(cmd.Context(), tickets.Revocation{JTI: jti, Subject: subject,
					KeepUntil: time.Now().Add(keep), By: "cli"})
				if err != nil {
					return err
				}
				what := "token " + jti
				if subject != "" {
					what = "every token of " + subject + " issued until " + r.RevokedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked %s; servers refuse it within 15 s\n", what)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&jti, "jti", "", "the token's id (jti)")
	cmd.Flags().StringVar(&subject, "subject", "", "revoke every token of this subject issued until now")
	return cmd
}

func usersCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Staff sign-ins for the web console",
		Long: `Staff sign-ins for the web console. Safe while ` + "`switchboard serve`" + ` runs on the same data
directory: the commands then use the server's PostgreSQL and never stop it.`}
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
input (10 to 72 bytes; stored as a bcrypt hash), enabled if an administrator had
disabled it. The change is audited, and the tokens the old sign-in gave out stop working
within 15 s. Administrators keep sign-ins in the admin page (/ui/admin/) as well.`,
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
					state := ""
					if a.Disabled {
						state = "\tdisabled"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s%s\n", a.Subject, a.Role, state)
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
