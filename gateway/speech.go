package gateway

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

// How voice notes read in the stored transcript. Only the speech stage writes them: the
// redact stage defuses a customer's look-alike.
const (
	voiceMarker        = "[voice message]"               // no transcript (no engine, or nothing recognised)
	voiceDoneMarker    = "[voice message: transcribed]"  // follows the redacted transcript
	voicePendingMarker = "[voice message: transcribing]" // a queue worker will put the transcript here
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
	// media bounds the memory of decodes (PipelineDeps.Media).
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
		return voicePendingMarker
	case t.Transcript != "":
		return voiceDoneMarker
	}
	return voiceMarker
}

var voiceMarkers = regexp.MustCompile(`\n?\[voice message(: transcribed)?\]`)

// forModels is the text the understand and respond stages see: the redacted text
// without voice markers (photo markers stay: their labels and categories are signal).
func forModels(text string) string {
	if !strings.Contains(text, "[voice message") {
		return text
	}
	return strings.TrimSpace(voiceMarkers.ReplaceAllString(text, ""))
}

// SpeechResolver transcribes the voice notes a turn's ingress left to the queue, before
// a worker answers the turn.
type SpeechResolver interface {
	ResolveSpeech(ctx context.Context, p *tickets.PendingTurn) error
}

// deferredSpeech resolves stashed voice notes: decrypt, transcribe, redact, and replace
// the pending marker of the stored message with the redacted transcript, fenced by the
// worker's attempt.
type deferredSpeech struct {
	store    *tickets.Store
	speech   Speech
	redactor *pii.Redactor
}

// SpeechResolver is the queue's half of the speech stage (nil without one).
func (d PipelineDeps) SpeechResolver() SpeechResolver {
	if d.Speech.Service == nil {
		return nil
	}
	sp := d.Speech
	sp.media = d.Media
	return &deferredSpeech{store: d.Store, speech: sp, redactor: d.Redactor}
}

func (d *deferredSpeech) ResolveSpeech(ctx context.Context, p *tickets.PendingTurn) error {
	if !strings.Contains(p.Text, voicePendingMarker) {
		return nil
	}
	media, err := d.store.StashedMedia(ctx, p.Channel, p.ChannelMessageID)
	if err != nil {
		return err
	}
	var texts []string
	for _, m := range media {
		tr, _, err := d.speech.transcribe(ctx, m.Data, false)
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
	repl := voiceMarker
	var secrets []tickets.Secret
	if raw := strings.ReplaceAll(strings.Join(texts, "\n"), "\x00", ""); raw != "" {
		res, err := d.redactor.Redact(ctx, raw)
		if err != nil {
			return err
		}
		text, subst := renumber(res.Text, p.Text)
		seen := map[string]bool{}
		for _, sp := range res.Spans {
			ph := subst[sp.Placeholder]
			if ph == "" {
				ph = sp.Placeholder
			}
			if !seen[ph] && sp.Start >= 0 && sp.End <= len(raw) && sp.Start < sp.End {
				seen[ph] = true
				secrets = append(secrets, tickets.Secret{Placeholder: ph, Kind: sp.Type, Value: raw[sp.Start:sp.End]})
			}
		}
		repl = text + "\n" + voiceDoneMarker
	}
	body := strings.Replace(p.Text, voicePendingMarker, repl, 1)
	if err := d.store.ResolveMedia(ctx, *p, body, secrets); err != nil {
		return err
	}
	p.Text = body
	return nil
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
