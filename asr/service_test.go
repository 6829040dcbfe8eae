package asr

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-cs/switchboard/asr/audio"
)

func TestServiceLanguagesAndStreams(t *testing.T) {
	en, zh := &fakeEngine{}, &fakeEngine{}
	pools := map[string]*Pool{"en": NewPool(en, 2, 0, 0, RecognizerOptions{}), "zh": NewPool(zh, 1, 0, 0, RecognizerOptions{})}
	if _, err := NewService(nil, "", audio.Limits{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no pools: %v", err)
	}
	if _, err := NewService(pools, "fr", audio.Limits{}); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("default without engine: %v", err)
	}
	svc, err := NewService(pools, "", audio.Limits{MaxDuration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if svc.DefaultLanguage() != "en" || len(svc.Languages()) != 2 {
		t.Fatalf("default %q, languages %v", svc.DefaultLanguage(), svc.Languages())
	}
	if _, err := svc.Pool("fr"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("unknown language: %v", err)
	}
	ctx := context.Background()

	// one second of audio with an utterance end in the middle
	pcm := make([]int16, SampleRate)
	pcm[SampleRate/2] = -1
	tr, err := svc.Transcribe(ctx, "zh", pcm)
	if err != nil || tr.Audio != time.Second || tr.RTF() <= 0 {
		t.Fatalf("transcribe: %+v %v", tr, err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(svc)
	// rtf and pool size for en and zh (en's histogram is empty but exported)
	if n, err := testutil.GatherAndCount(reg, "switchboard_speech_rtf", "switchboard_speech_recognizers"); err != nil || n != 4 {
		t.Fatalf("metrics: %d series, %v", n, err)
	}
	if made, _ := zh.counts(); made != 1 {
		t.Fatalf("zh engine made %d recognizers", made)
	}
	if _, err := svc.TranscribeAudio(ctx, "", []byte("not audio")); !errors.Is(err, audio.ErrAudio) {
		t.Fatalf("bad audio: %v", err)
	}

	// Streams with the pool's options share the pool; with phrases they get their own
	// recognizer, at most the pool's size of them at once.
	_, _, rel1, err := svc.Stream(ctx, "zh", RecognizerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.Stream(ctx, "zh", RecognizerOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second pooled stream on a pool of one: %v", err)
	}
	rec, eng, rel2, err := svc.Stream(ctx, "zh", RecognizerOptions{Phrases: []string{"ni hao"}})
	if err != nil || rec == nil || eng != Engine(zh) {
		t.Fatalf("phrase stream: %v", err)
	}
	if _, _, _, err := svc.Stream(ctx, "zh", RecognizerOptions{Phrases: []string{"ni hao"}}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second phrase stream: %v", err)
	}
	rel2()
	rel2() // idempotent
	if _, closed := zh.counts(); closed != 1 {
		t.Fatalf("the phrase stream's recognizer was not closed (%d closed)", closed)
	}
	_, _, rel3, err := svc.Stream(ctx, "zh", RecognizerOptions{Phrases: []string{"ni hao"}})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	rel3()
	rel1()
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.Stream(ctx, "", RecognizerOptions{Grammar: "x"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// TestRecordingsKeepTheirReservedRecognizers: live streams cannot take the recognizers
// reserved for recordings, so voice notes are transcribed while every stream slot is in
// use; with all recognizers reserved, streams are off.
func TestRecordingsKeepTheirReservedRecognizers(t *testing.T) {
	ctx := context.Background()
	svc, err := NewService(map[string]*Pool{"en": NewPool(&fakeEngine{}, 2, 0, 0, RecognizerOptions{})}, "", audio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	svc.ReserveForRecordings(1)
	if got := svc.StreamSlots()["en"]; got != 1 {
		t.Fatalf("stream slots %d, want 1", got)
	}
	_, _, release, err := svc.Stream(ctx, "", RecognizerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.Stream(ctx, "", RecognizerOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("a second stream with one recognizer reserved: %v, want ErrBusy", err)
	}
	for i := range 3 { // the reserved recognizer serves note after note
		if _, err := svc.Transcribe(ctx, "", make([]int16, SampleRate/4)); err != nil {
			t.Fatalf("voice note %d while the stream runs: %v", i, err)
		}
	}
	release()
	release()
	_, _, again, err := svc.Stream(ctx, "", RecognizerOptions{})
	if err != nil {
		t.Fatalf("stream after the first ended: %v", err)
	}
	again()

	svc.ReserveForRecordings(2)
	if _, _, _, err := svc.Stream(ctx, "", RecognizerOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("all recognizers reserved: %v, want ErrBusy", err)
	}
}

// TestServiceExportsEveryLanguageFromTheStart: before any recording, each language's pool
// gauges and (empty) transcription histograms are exported, so dashboards and alerts
// see the series from the first scrape.
func TestServiceExportsEveryLanguageFromTheStart(t *testing.T) {
	pools := map[string]*Pool{"en": NewPool(&fakeEngine{}, 2, 0, 0, RecognizerOptions{}), "zh": NewPool(&fakeEngine{}, 1, 0, 0, RecognizerOptions{})}
	svc, err := NewService(pools, "", audio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(svc)
	for name, want := range map[string]int{"switchboard_speech_recognizers": 2, "switchboard_speech_recognizers_in_use": 2,
		"switchboard_speech_waiting": 2, "switchboard_speech_rtf": 2, "switchboard_speech_audio_seconds": 2} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != want {
			t.Errorf("%s: %d series (%v), want one per language (%d)", name, n, err, want)
		}
	}
}
