package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/membudget"
)

// errChannelOff answers webhooks of channels that are not configured.
var errChannelOff = fmt.Errorf("channel not configured: %w", errNotFound)

// ingest makes a channel turn durable (redact, persist) and wakes the
// queue's workers, which answer it through the channel's Sender. It
// reports whether the caller may acknowledge the delivery.
func (mr *messageRoutes) ingest(c *gin.Context, t *pipeline.Turn) bool {
	if mr.flow == nil {
		mr.fail(c, fmt.Errorf("%w: %w", errUnavailable, flow.ErrNoPipeline))
		return false
	}
	if !mr.limits.allowCustomer(c, t.CustomerRef) {
		return false
	}
	hold, err := mr.holdFetchedMedia(c.Request.Context(), t)
	if err != nil {
		mr.fail(c, err)
		return false
	}
	defer hold.Release()
	t.ReceivedAt = time.Now()
	if err := mr.flow.Receive(c.Request.Context(), t); err != nil {
		mr.fail(c, err)
		return false
	}
	return true
}

// channelRoute serves /v1/channels/<name>: the configured channel reads the delivery, the
// flow takes in its turns, and the platform gets the channel's acknowledgement. An
// unconfigured channel answers 404.
func (mr *messageRoutes) channelRoute(name string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ch := mr.channels[name]
		if ch == nil {
			mr.fail(c, errChannelOff)
			return
		}
		d, err := ch.Receive(c.Request)
		if err != nil {
			mr.fail(c, err)
			return
		}
		if d.Answer == nil && len(d.Turns) == 0 {
			d.Answer = &channel.OK // nothing to answer
		}
		if d.Answer != nil {
			respond(c, *d.Answer)
			return
		}
		for _, t := range d.Turns {
			if !mr.ingest(c, t) {
				return
			}
		}
		ack := channel.OK
		if a, ok := ch.(channel.Acknowledger); ok {
			ack = a.Ack(d.Turns)
		}
		respond(c, ack)
	}
}

func respond(c *gin.Context, r channel.Response) {
	if r.ContentType == "" && len(r.Body) == 0 {
		c.Status(r.Status)
		return
	}
	c.Data(r.Status, r.ContentType, r.Body)
}

// holdFetchedMedia reserves the upload memory of the media a webhook turn names by
// reference, each up to the media limit, before the fetch stage downloads them.
func (mr *messageRoutes) holdFetchedMedia(ctx context.Context, t *pipeline.Turn) (*membudget.Hold, error) {
	n := int64(0)
	for _, p := range t.Parts {
		if p.Kind != pipeline.PartText && p.Data == nil && p.Ref != "" {
			n += mr.maxMediaPart()
		}
	}
	if n == 0 {
		return nil, nil
	}
	return mr.media.HoldUpload(ctx, n)
}
