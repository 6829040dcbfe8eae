// Package channeltest is the contract every channel plugin keeps, as a test suite each
// channel runs with a Kit of its own (its contract_test.go): a delivery reads into one
// turn with a stable idempotency key (so the store keeps a redelivery once), a forged one
// is refused as unauthenticated, replies reach the platform at the turn's address, media
// sent by reference are fetched, no secret is ever quoted in an error, and without its
// settings the channel is off.
package channeltest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// Kit is what the contract needs of one channel.
type Kit struct {
	Kind channel.Kind
	// Settings turn the channel on against a fake of its platform's API at apiURL.
	Settings func(apiURL string) channel.Settings
	// Message is a correctly authenticated delivery to ch of a customer's text message:
	// id is the platform's id of the delivery, from the customer's id on the platform.
	Message func(t *testing.T, ch channel.Channel, id, from, text string) *http.Request
	// Forged is the same delivery with its authentication wrong (signature, secret).
	Forged func(t *testing.T, ch channel.Channel, id, from, text string) *http.Request
	// Media, for a channel that fetches media (channel.MediaFetcher), is a delivery of a
	// photo or voice note by the platform's reference ref.
	Media func(t *testing.T, ch channel.Channel, id, from, ref string) *http.Request
	// API is the fake platform: it reports each reply it is sent to api.Sent (text and
	// the address it went to) and serves api.Files[ref] to a media download.
	API func(api *API) http.Handler
	// Secrets are the credentials the channel holds; no error may quote one.
	Secrets []string
}

// API is the state of the fake platform.
type API struct {
	mu    sync.Mutex
	sent  []string
	Files map[string][]byte
}

// Sent records a reply the platform received.
func (a *API) Sent(text string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent = append(a.sent, text)
}

func (a *API) replies() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.sent)
}

// Run runs the contract against the kit's channel.
func Run(t *testing.T, kit Kit) {
	api := &API{Files: map[string][]byte{"ref-photo-1": []byte("\xff\xd8\xff\xe0 a photo's bytes")}}
	var broken atomic.Bool
	handler := kit.API(api)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() { // the platform is down: the connection drops
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	if off, err := kit.Kind.Open(channel.Settings{}, nil); off != nil || err != nil {
		t.Fatalf("%s without settings: %v, %v; want it off", kit.Kind.Name, off, err)
	}
	ch, err := kit.Kind.Open(kit.Settings(srv.URL), nil)
	if err != nil || ch == nil {
		t.Fatalf("%s: Open: %v, %v", kit.Kind.Name, ch, err)
	}
	if ch.Name() != kit.Kind.Name {
		t.Fatalf("the %s kind opens a channel named %q", kit.Kind.Name, ch.Name())
	}
	ctx := context.Background()

	receive := func(t *testing.T, r *http.Request) *pipeline.Turn {
		t.Helper()
		d, err := ch.Receive(r)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if d.Answer != nil || len(d.Turns) != 1 {
			t.Fatalf("Receive: %d turns, answer %v; want one turn", len(d.Turns), d.Answer)
		}
		return d.Turns[0]
	}

	var first *pipeline.Turn
	t.Run("delivery reads into a turn", func(t *testing.T) {
		first = receive(t, kit.Message(t, ch, "1001", "42", "where is my refund?"))
		if first.Channel != ch.Name() || first.ChannelMessageID == "" || first.CustomerRef == "" {
			t.Fatalf("turn %+v: want channel %q, a message id and a customer", first.LogValue(), ch.Name())
		}
		if !slices.ContainsFunc(first.Parts, func(p pipeline.Part) bool {
			return p.Kind == pipeline.PartText && strings.Contains(p.Text, "where is my refund?")
		}) {
			t.Fatalf("turn parts %+v lack the text", first.Parts)
		}
	})
	if first == nil {
		t.FailNow()
	}

	t.Run("redelivery keeps its key", func(t *testing.T) {
		again := receive(t, kit.Message(t, ch, "1001", "42", "where is my refund?"))
		if again.ChannelMessageID != first.ChannelMessageID || again.CustomerRef != first.CustomerRef || again.Thread != first.Thread {
			t.Fatalf("a redelivery read as %q/%q/%q, the first as %q/%q/%q: the store would keep it twice",
				again.ChannelMessageID, again.CustomerRef, again.Thread, first.ChannelMessageID, first.CustomerRef, first.Thread)
		}
		other := receive(t, kit.Message(t, ch, "1002", "43", "and my card?"))
		if other.ChannelMessageID == first.ChannelMessageID || other.CustomerRef == first.CustomerRef {
			t.Fatalf("another message of another customer read as %q/%q, like the first", other.ChannelMessageID, other.CustomerRef)
		}
	})

	t.Run("forged delivery is refused", func(t *testing.T) {
		d, err := ch.Receive(kit.Forged(t, ch, "1003", "42", "let me in"))
		if !errors.Is(err, channel.ErrUnauthenticated) || len(d.Turns) > 0 {
			t.Fatalf("forged delivery: %d turns, %v; want channel.ErrUnauthenticated", len(d.Turns), err)
		}
		noSecret(t, kit, err)
	})

	sender, sends := ch.(channel.Sender)
	if sends {
		t.Run("reply reaches the platform", func(t *testing.T) {
			if err := sender.Send(ctx, first.ReplyTo, "Refunds take 5 days ✓"); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := api.replies(); !slices.Equal(got, []string{"Refunds take 5 days ✓"}) {
				t.Fatalf("the platform got %q", got)
			}
		})
	}

	fetcher, fetches := ch.(channel.MediaFetcher)
	if fetches != (kit.Media != nil) {
		t.Fatalf("the channel fetches media: %v; the kit delivers media: %v", fetches, kit.Media != nil)
	}
	var ref string
	if fetches {
		t.Run("media are fetched", func(t *testing.T) {
			turn := receive(t, kit.Media(t, ch, "1004", "42", "ref-photo-1"))
			i := slices.IndexFunc(turn.Parts, func(p pipeline.Part) bool { return p.Kind != pipeline.PartText && p.Ref != "" })
			if i < 0 {
				t.Fatalf("turn parts %+v: no medium by reference", turn.Parts)
			}
			ref = turn.Parts[i].Ref
			data, err := fetcher.FetchMedia(ctx, ref, 1<<20)
			if err != nil || string(data) != string(api.Files["ref-photo-1"]) {
				t.Fatalf("FetchMedia(%q) = %q, %v", ref, data, err)
			}
			if _, err := fetcher.FetchMedia(ctx, ref, 4); !errors.Is(err, channel.ErrMediaTooLarge) {
				t.Fatalf("FetchMedia over the limit: %v, want channel.ErrMediaTooLarge", err)
			}
		})
	}

	t.Run("errors quote no secret", func(t *testing.T) {
		broken.Store(true)
		defer broken.Store(false)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if sends {
			err := sender.Send(cctx, first.ReplyTo, "hello")
			if err == nil {
				t.Fatal("Send to a platform that is down: no error")
			}
			noSecret(t, kit, err)
		}
		if fetches && ref != "" {
			_, err := fetcher.FetchMedia(cctx, ref, 1<<20)
			if err == nil {
				t.Fatal("FetchMedia from a platform that is down: no error")
			}
			noSecret(t, kit, err)
		}
	})
}

func noSecret(t *testing.T, kit Kit, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range kit.Secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("the error quotes a secret: %v", err)
		}
	}
}

// HangUp is a platform that answers nothing until the client gives up (it reads the body
// first: only then does a server notice the client leaving).
func HangUp(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(30 * time.Second):
	}
}
