package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/tickets/webhooks"
)

// WebhookLog is the outbound webhooks' delivery log (tickets/webhooks.DeliveryLog).
type WebhookLog interface {
	List(ctx context.Context, f webhooks.Filter) ([]webhooks.Delivery, error)
	Redeliver(ctx context.Context, id int64) (webhooks.Delivery, error)
}

// webhookDeliveries lists the delivery log, newest first: ?endpoint=, ?status=
// (pending, delivered, failed), ?limit= (default 50, at most 500), ?before= (an id).
func (r *adminRoutes) webhookDeliveries(c *gin.Context) {
	if r.hooks == nil {
		r.fail(c, tickets.ErrUnavailable)
		return
	}
	f := webhooks.Filter{Endpoint: c.Query("endpoint"), Status: c.Query("status")}
	for _, p := range []struct {
		name string
		dst  func(int64)
	}{{"limit", func(v int64) { f.Limit = int(v) }}, {"before", func(v int64) { f.Before = v }}} {
		if v := c.Query(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || (p.name == "limit" && n > 500) {
				r.fail(c, fmt.Errorf("%w: %s %q: a positive number (a limit at most 500)", errBadRequest, p.name, v))
				return
			}
			p.dst(n)
		}
	}
	list, err := r.hooks.List(c.Request.Context(), f)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": nonNil(list)})
}

// redeliverWebhook sends a delivered or failed delivery again (as a fresh pending one).
func (r *adminRoutes) redeliverWebhook(c *gin.Context) {
	if r.hooks == nil {
		r.fail(c, tickets.ErrUnavailable)
		return
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		r.fail(c, fmt.Errorf("delivery %q: %w", c.Param("id"), tickets.ErrNotFound))
		return
	}
	d, err := r.hooks.Redeliver(c.Request.Context(), id)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}
