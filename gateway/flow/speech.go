package flow

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

// How voice notes read in the stored transcript. Only the speech steps write them: the
// redact stage defuses a customer's look-alike.
const (
	VoiceMarker        = "[voice message]"               // no transcript (no engine, or nothing recognised)
	VoiceDoneMarker    = "[voice message: transcribed]"  // follows the redacted transcript
	VoicePendingMarker = "[voice message: transcribing]" // a queue worker will put the transcript here
)

// DefaultInlineSpeech is how long a voice note may be for the speech stage to transcribe
// it while the channel waits; longer notes go to the queue (Speech.InlineMax).
const DefaultInlineSpeech = 20 * time.Second

// Speech configures the speech stage.
type Speech struct {
	Service *asr.Service
	// InlineMax: voice notes up to this long are transcribed while the channel waits;
	// longer ones are stashed encrypted with the turn and transcribed by a queue worker,
	// so the channel's acknowledgement does not wait for them (0: DefaultInlineSpeech;
	// negative: always inline).
	InlineMax time.Duration
	// media bounds the memory of decodes (Deps.Media).
	media *MediaBudget
}

func (s Speech) inlineMax() time.Duration {
	if s.InlineMax == 0 {
		return DefaultInlineSpeech
	}
	return s.InlineMax
}

func hasAudio(t *pipeline.Turn) bool {
	return slices.ContainsFunc(t.Parts, func(p pipeline.Part) bool { return p.Kind == pipeline.PartAudio && p.Data != nil })
}

// speechStage transcribes the turn's voice notes into t.Transcript (spoken digit runs
// written as numbers, so redaction sees them); notes over the inline limit of a turn
// with a channel message id are left in t.DeferredAudio for the queue. It fails open:
// an untranscribed note is stored as "[voice message]".
func speechStage(sp Speech) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		var texts []string
		var errs []error
		for _, p := range t.Parts {
			if p.Kind != pipeline.PartAudio || p.Data == nil {
				continue
			}
			tr, deferred, err := sp.transcribe(ctx, p.Data, t.ChannelMessageID != "")
			if deferred {
				t.DeferredAudio = append(t.DeferredAudio, p)
				continue
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if s := asr.SpokenDigits(tr.Text); s != "" {
				texts = append(texts, s)
			}
		}
		t.Transcript = strings.Join(texts, "\n")
		return errors.Join(errs...)
	})
}

// transcribe decodes a voice note and transcribes it, holding the memory of its PCM
// (Speech.media) from before the decode until the transcript is made. A note over the
// inline limit is only decoded and reported deferred when it may be (canDefer).
func (sp Speech) transcribe(ctx context.Context, data []byte, canDefer bool) (tr asr.Transcription, deferred bool, err error) {
	release, err := sp.media.Acquire(ctx, audioDecodeCost(data, sp.Service.Limits()))
	if err != nil {
		return tr, false, err
	}
	defer release()
	pcm, info, err := sp.Service.Decode(data)
	if err != nil {
		return tr, false, err
	}
	if max := sp.inlineMax(); max > 0 && info.Duration > max && canDefer {
		return tr, true, nil
	}
	tr, err = sp.Service.Transcribe(ctx, "", pcm)
	return tr, false, err
}

// voiceMark is the marker of the turn's voice notes, "" without any.
func voiceMark(t *pipeline.Turn) string {
	if !slices.ContainsFunc(t.Parts, func(p pipeline.Part) bool { return p.Kind == pipeline.PartAudio }) {
		return ""
	}
	switch {
	case len(t.DeferredAudio) > 0:
		return VoicePendingMarker
	case t.Transcript != "":
		return VoiceDoneMarker
	}
	return VoiceMarker
}

// ForModels is the text the understand and respond stages see: the redacted text
// without the voice markers (photo markers stay: their labels and categories are
// signal). Only the speech steps write markers (redaction defuses look-alikes), so they
// are removed as the constants they are.
func ForModels(text string) string {
	if !strings.Contains(text, "[voice message") {
		return text
	}
	for _, m := range []string{VoiceDoneMarker, VoiceMarker} {
		text = strings.ReplaceAll(text, "\n"+m, "")
		text = strings.ReplaceAll(text, m, "")
	}
	return strings.TrimSpace(text)
}

// errTakenOver: another queue attempt took the turn over; its answer is the one kept.
var errTakenOver = errors.New("the turn was taken over by another attempt")

// deferredSpeechStage is the queue's half of the speech step: it transcribes the voice
// notes a turn's ingress stashed (t.VoicePending), redacts the transcript as typed text
// is redacted, and writes it into the stored message in place of the pending marker,
// fenced by the worker's attempt. Later steps see the new text.
func deferredSpeechStage(inbox Inbox, sp Speech, r *pii.Redactor) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		media, err := inbox.StashedMedia(ctx, t.Channel, t.ChannelMessageID)
		if err != nil {
			return err
		}
		var texts []string
		for _, m := range media {
			tr, _, err := sp.transcribe(ctx, m.Data, false)
			switch {
			case errors.Is(err, audio.ErrAudio), errors.Is(err, audio.ErrTooLong):
				continue // it decoded at ingress; nothing a retry would change
			case err != nil:
				return fmt.Errorf("transcribe stashed voice note: %w", err) // busy, unavailable, cancelled: retried
			}
			if s := asr.SpokenDigits(tr.Text); s != "" {
				texts = append(texts, s)
			}
		}
		repl := VoiceMarker
		var secrets []tickets.Secret
		if raw := strings.Join(texts, "\n"); strings.ReplaceAll(raw, "\x00", "") != "" {
			redacted, found, n, err := redact(ctx, r, raw)
			if err != nil {
				return err
			}
			text, subst := renumber(redacted, t.Text)
			for _, sec := range found {
				if ph := subst[sec.Placeholder]; ph != "" {
					sec.Placeholder = ph
				}
				secrets = append(secrets, tickets.Secret(sec))
			}
			t.Redactions += n
			repl = text + "\n" + VoiceDoneMarker
		}
		body := strings.Replace(t.Text, VoicePendingMarker, repl, 1)
		p := tickets.PendingTurn{Channel: t.Channel, ChannelMessageID: t.ChannelMessageID, ConversationID: t.ConversationID,
			MessageID: t.MessageID, Attempts: t.Attempt}
		if err := inbox.ResolveMedia(ctx, p, body, secrets); err != nil {
			if errors.Is(err, tickets.ErrConflict) {
				return fmt.Errorf("%w: %w", errTakenOver, err)
			}
			return err
		}
		t.Text, t.VoicePending = body, false
		return nil
	})
}

var placeholderRe = regexp.MustCompile(`\[([A-Z][A-Z_]*)_(\d+)\]`)

// renumber moves the placeholders of a redacted transcript past those the stored
// message already uses ([PHONE_1] in the caption, [PHONE_1] in the transcript →
// [PHONE_2]), so that each placeholder of the message names one vault entry: the
// transcript's placeholders of a kind are numbered on from the highest number the stored
// message uses, in order of first appearance, skipping any it holds (a customer may
// have typed "[PHONE_9223372036854775807]"). It returns the text and the old → new
// placeholder map.
func renumber(transcript, stored string) (string, map[string]string) {
	used := map[string]bool{}
	next := map[string]int{}
	for _, m := range placeholderRe.FindAllStringSubmatch(stored, -1) {
		used[m[0]] = true
		if n, err := strconv.Atoi(m[2]); err == nil && n < 1<<30 {
			next[m[1]] = max(next[m[1]], n)
		}
	}
	subst := map[string]string{}
	text := placeholderRe.ReplaceAllStringFunc(transcript, func(ph string) string {
		if out, ok := subst[ph]; ok {
			return out
		}
		kind := placeholderRe.FindStringSubmatch(ph)[1]
		out := ""
		for out == "" || used[out] {
			next[kind]++
			out = "[" + kind + "_" + strconv.Itoa(next[kind]) + "]"
		}
		used[out], subst[ph] = true, out
		return out
	})
	return text, subst
}
