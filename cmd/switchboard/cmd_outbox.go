package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/tickets"
)

func outboxCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "outbox", Short: "Dead letters of the delivery queues"}
	var r tickets.Requeue
	retry := &cobra.Command{
		Use:   "retry",
		Short: "Re-queue failed agent replies (or, with --turns, failed customer turns)",
		Long: `A reply to a push channel (Telegram, Slack, WeCom, webhook) or a customer turn is retried
for queue.retry_for; after that, or after queue.max_abandoned attempts that crashed the
worker, it is a dead letter (state failed): counted in switchboard_queue_rows{state="failed"}
and shown as "delivery": {"state": "failed"} on the ticket's transcript. Once the cause is
fixed, this command puts the selected dead letters back in their queue with a fresh retry
window; the running server's workers send them within a poll. It is audited (outbox.retry).`,
		Example: `  switchboard outbox retry                    # every failed reply
  switchboard outbox retry --channel telegram
  switchboard outbox retry --id 42
  switchboard outbox retry --turns --channel wecom`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withData(cmd, f, func(a *app) error {
				if err := a.openTickets(cmd.Context()); err != nil {
					return err
				}
				n, err := a.store.RequeueFailed(cmd.Context(), "cli", r)
				if err != nil {
					return err
				}
				what := map[bool]string{false: "replies", true: "turns"}[r.Turns]
				if n == 1 {
					what = map[bool]string{false: "reply", true: "turn"}[r.Turns]
				}
				fmt.Fprintf(cmd.OutOrStdout(), "re-queued %d failed %s\n", n, what)
				return nil
			})
		},
	}
	retry.Flags().StringVar(&r.Channel, "channel", "", "only this channel (telegram, slack, wecom, webhook …)")
	retry.Flags().Int64Var(&r.ID, "id", 0, "only this outbox row")
	retry.Flags().BoolVar(&r.Turns, "turns", false, "re-queue failed customer turns (answers) instead of agent replies")
	cmd.AddCommand(retry)
	return cmd
}
