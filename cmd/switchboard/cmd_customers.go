package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func customersCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "customers", Short: "Personal data of customers (PIPL/GDPR)"}
	var yes bool
	erase := &cobra.Command{
		Use:   "erase ID",
		Short: "Erase one person everywhere: messages, vault, tickets, queues, media, names, Redis",
		Long: `Removes every trace of the customer with this customer id (uuid) or pseudonymous id
(tg:…, web:…): live and archived messages, token-vault originals, conversations, tickets
and their assignments, queue rows (channel_messages, outbox), stashed media, the customer
row with its sealed contact fields and name and their blind indexes, in one transaction;
then the ticket cache, the routing state and Redis keys naming the person (a running
server drops its copies as well). The erasure is audited as customer.erase with an HMAC
of the id as its only reference. It cannot be undone.`,
		Example: `  switchboard customers erase tg:123456789 --yes
  POST /v1/customers/:id/erase (supervisor, admin) does the same on a running server`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return errors.New("erasing a customer cannot be undone: add --yes")
			}
			return withData(cmd, f, func(a *app) error {
				if err := a.openTickets(cmd.Context()); err != nil {
					return err
				}
				rep, err := a.svc.EraseCustomer(cmd.Context(), "cli", args[0])
				if err != nil {
					return err
				}
				out, _ := json.Marshal(rep)
				fmt.Fprintln(cmd.OutOrStdout(), string(out))
				return nil
			})
		},
	}
	erase.Flags().BoolVar(&yes, "yes", false, "confirm: the erasure cannot be undone")
	cmd.AddCommand(erase)
	return cmd
}
