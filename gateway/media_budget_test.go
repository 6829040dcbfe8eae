package gateway

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/flow"
)

// TestMediaBudgetBoundsUploads: a multipart message reserves its media's memory before
// reading them and keeps it until it is answered; while the budget is taken, another
// upload waits (bounded) and gets 429 with a clear message, text messages are answered
// meanwhile, and media over the whole budget are refused at once.
func TestMediaBudgetBoundsUploads(t *testing.T) {
	brain := blockingBrain{entered: make(chan struct{}, 4), release: make(chan struct{}), only: "slow"}
	reg := prometheus.NewRegistry()
	media := flow.NewMediaBudget(8<<20, 300*time.Millisecond, reg) // 4 MiB for uploads
	in := newInstanceWith(t, newPool(t), "mediabudget", brain, func(o *Options) {
		o.Media, o.MaxImageBytes, o.MaxAudioBytes = media, 2<<20, 2<<20
	})
	base := in.http.URL
	photo := file{"image", "image/jpeg", bytes.Repeat([]byte{0xff}, 1500<<10)} // not a decodable photo: fails open
	var wg sync.WaitGroup
	wg.Go(func() {
		var r MessageReply
		if code := postMultipart(t, base, in.token(t, "web:m1", RoleCustomer), map[string]string{"text": "slow refund"}, &r, photo); code != 200 {
			t.Errorf("the first upload: %d %+v", code, r)
		}
	})
	<-brain.entered
	if held, _ := media.InUse(); held < 3000<<10 {
		t.Fatalf("the upload in progress holds %d bytes, want its length and room for one copy", held)
	}
	var e ErrorBody
	start := time.Now()
	if code := postMultipart(t, base, in.token(t, "web:m2", RoleCustomer), map[string]string{"text": "refund"}, &e, photo); code != 429 ||
		!strings.Contains(e.Error, "photos and voice notes") {
		t.Fatalf("a second upload while the budget is taken: %d %+v, want 429", code, e)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("the refused upload waited %s, want about 300ms", waited)
	}
	mustCall(t, 200, base, in.token(t, "web:m3", RoleCustomer), "POST", "/v1/messages", map[string]any{"text": "refund please"}, nil)
	three := []file{photo, photo, photo}
	if code := postMultipart(t, base, in.token(t, "web:m4", RoleCustomer), nil, &e, three...); code != 413 || !strings.Contains(e.Error, "more memory") {
		t.Fatalf("media over the whole budget: %d %+v, want 413", code, e)
	}
	close(brain.release)
	wg.Wait()
	if code := postMultipart(t, base, in.token(t, "web:m2", RoleCustomer), map[string]string{"text": "refund"}, nil, photo); code != 200 {
		t.Fatalf("the second upload once the first was answered: %d", code)
	}
	if up, dec := media.InUse(); up+dec != 0 {
		n := up + dec
		t.Fatalf("%d bytes still held after every request ended", n)
	}
	if got := metricValue(t, reg, "switchboard_media_budget_refusals_total", map[string]string{"budget": "upload", "reason": "busy"}); got != 1 {
		t.Fatalf("busy refusals counted: %v, want 1", got)
	}
}
