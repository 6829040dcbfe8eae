// Package channel is the contract between the gateway and its channel plugins (Telegram,
// Slack, WeCom, the generic webhook …): a channel reads a delivery of its platform into
// turns for the flow and, optionally, sends replies back and downloads media the platform
// delivers by reference. Each channel is a package of its own below this one; the list in
// gateway/channels registers them, and the server mounts /v1/channels/<name> for each.
// The helpers here (signed JSON posts, URL redaction, bounded downloads) are what channels
// share.
package channel

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// Channel reads one platform's deliveries.
type Channel interface {
	// Name is the channel's name: the turns' Channel, the path /v1/channels/<name>, the
	// section channels.<name> of the configuration.
	Name() string
	// Receive authenticates a delivery and reads it. Errors wrap ErrUnauthenticated,
	// ErrBadRequest or ErrTooLarge, and never quote a secret.
	Receive(r *http.Request) (Delivery, error)
}

// Delivery is what one request of a platform brought.
type Delivery struct {
	// Turns are the customer messages to take in (none: nothing to answer).
	Turns []*pipeline.Turn
	// Answer, when set, is the whole response and no turn is taken in: a handshake
	// (Slack's url_verification, WeCom's echostr) or an event that needs no answer.
	Answer *Response
}

// Response is an HTTP response a channel gives its platform.
type Response struct {
	Status      int
	ContentType string // "" with an empty body
	Body        []byte
}

// OK is the plain acknowledgement: 200 and no body.
var OK = Response{Status: http.StatusOK}

// Acknowledger is a channel whose platform expects more than OK once the delivery's turns
// are stored (the generic webhook answers 202 with the conversation id).
type Acknowledger interface {
	Ack(turns []*pipeline.Turn) Response
}

// Sender is a channel that delivers replies; replyTo is the address Receive put on the
// turn (Turn.ReplyTo), kept with the conversation.
type Sender interface {
	Send(ctx context.Context, replyTo json.RawMessage, text string) error
}

// MediaFetcher is a channel whose platform delivers media by reference (Part.Ref):
// Telegram's file_id, WeCom's media_id. It downloads at most maxBytes.
type MediaFetcher interface {
	FetchMedia(ctx context.Context, ref string, maxBytes int64) ([]byte, error)
}

// Settings are one channel's configuration: the keys of its section channels.<name>.
type Settings map[string]string

// Kind registers a channel.
type Kind struct {
	Name string
	// Methods are the HTTP methods of /v1/channels/<Name> (nil: POST).
	Methods []string
	// Open builds the channel from its settings, with client for its platform's API; nil
	// and no error when the settings leave it off (no secret configured).
	Open func(s Settings, client *http.Client) (Channel, error)
}

// HTTPMethods are k's methods.
func (k Kind) HTTPMethods() []string {
	if len(k.Methods) == 0 {
		return []string{http.MethodPost}
	}
	return k.Methods
}

// What a delivery's error means to the platform; the gateway maps them to statuses.
var (
	// ErrUnauthenticated: the delivery's signature, secret or timestamp does not check out.
	ErrUnauthenticated = errors.New("webhook request not authenticated")
	// ErrBadRequest: the delivery is authentic but cannot be read.
	ErrBadRequest = errors.New("bad request")
	// ErrTooLarge: the body is over the gateway's limit.
	ErrTooLarge = errors.New("request body too large")
	// ErrMediaTooLarge: media to fetch are over the size limit.
	ErrMediaTooLarge = errors.New("media over the size limit")
)
