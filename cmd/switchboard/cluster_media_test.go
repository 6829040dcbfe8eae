//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/ort"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

// Voice notes and photos in the fault load: some REST customers attach a recorded voice
// note or a labelled photo of the shared evaluation data to some turns, through
// POST /v1/messages as multipart/form-data. The replicas transcribe them (PocketSphinx,
// the default engine) and label them (MobileNetV2 int8 through the model registry, from
// a model repository the replicas share, as models.dir on a shared volume would be), and
// the stored turn says what was heard or seen: the checker looks for it. A runtime or
// file that is absent leaves its kind of media out, with the reason logged.

// faultVisionModel is the image-classification model of the shared model repository.
const faultVisionModel = "mobilenet"

// faultMedia is what the media customers send.
type faultMedia struct {
	photos, voices []faultClip // nil: none (whyNo says why)
	whyNoPhotos    string
	whyNoVoices    string
	// every > 1 keeps media to one group of four customers in every (0, 1: every group):
	// a soak at hundreds of turns/s would otherwise be a speech benchmark.
	every int
}

// faultClip is one file a customer attaches and what its stored turn must then hold.
type faultClip struct {
	part string // the multipart part: "image" or "audio"
	name string // its file name
	mime string
	data []byte
	want string // lower case: a label of the photo, a word of the voice note
}

// setUpFaultMedia writes version 1 of the vision model into the replicas' shared model
// repository, pinned (an ML engineer's later push does not serve by itself), and reads
// the clips. What cannot run here is left out with its reason.
func setUpFaultMedia(t *testing.T, modelsDir string) faultMedia {
	t.Helper()
	var m faultMedia
	if why := visionRuntime(); why != "" {
		m.whyNoPhotos = why
	} else {
		visiontest.MobileNet(t, modelsDir, faultVisionModel, 1, "")
		st, _ := json.Marshal(models.State{Policy: models.PolicyPinned, Active: "1"})
		if err := os.WriteFile(filepath.Join(modelsDir, faultVisionModel, models.StateFile), st, 0o644); err != nil {
			t.Fatal(err)
		}
		m.photos, m.whyNoPhotos = readClips("image", "image/jpeg", [][2]string{
			{"images_wonnx/pelican.jpeg", "pelican"}, {"images_wonnx/bald_eagle.jpeg", "bald eagle"}})
	}
	if why := speechRuntime(); why != "" {
		m.whyNoVoices = why
	} else {
		m.voices, m.whyNoVoices = readClips("audio", "audio/wav", [][2]string{
			{"speech_en_pocketsphinx_cards/001.wav", "clubs"}, {"speech_en_pocketsphinx_cards/003.wav", "clubs"}})
	}
	if m.whyNoPhotos != "" {
		t.Logf("fault load: no photos: %s", m.whyNoPhotos)
	}
	if m.whyNoVoices != "" {
		t.Logf("fault load: no voice notes: %s", m.whyNoVoices)
	}
	return m
}

// visionRuntime says why photos cannot be labelled here ("" when they can).
func visionRuntime() string {
	if _, err := ort.FindLibrary(""); err != nil {
		return "ONNX Runtime: " + err.Error()
	}
	for _, rel := range []string{"onnx_mobilenetv2_12_int8/mobilenetv2-12-int8.onnx", "imagenet_labels/squeeze-labels.txt"} {
		if _, err := testenv.LookupSharedData(rel); err != nil {
			return err.Error()
		}
	}
	return ""
}

// speechRuntime says why the replicas' default speech engine cannot load ("" when it can).
func speechRuntime() string {
	set, err := loadSpeech(context.Background(), config.Default())
	if err != nil {
		return err.Error()
	}
	set.Close()
	return ""
}

// readClips reads files of the shared data, each with what its turn must then hold.
func readClips(part, mime string, files [][2]string) ([]faultClip, string) {
	var out []faultClip
	for _, f := range files {
		path, err := testenv.LookupSharedData(f[0])
		if err == nil {
			var data []byte
			if data, err = os.ReadFile(path); err == nil {
				out = append(out, faultClip{part: part, name: filepath.Base(path), mime: mime, data: data, want: f[1]})
				continue
			}
		}
		return nil, err.Error()
	}
	return out, ""
}

// clipFor is what REST customer i attaches to its turn k (nil: none). Every other
// turn of customers 0, 4, 8 … carries a photo; the second turn of customers 2, 6, 10 …
// a voice note (recognition is the costliest stage: more would make the load a speech
// benchmark). With 3 replicas each serves both from the start (customer i prefers
// replica i mod 3). A request for a human carries none.
func (m faultMedia) clipFor(i, k int, escalate bool) *faultClip {
	if escalate || k%2 == 0 || i%2 == 1 || (m.every > 1 && (i/4)%m.every != 0) {
		return nil
	}
	clips := m.photos
	if i%4 == 2 {
		if k != 1 {
			return nil
		}
		clips = m.voices
	}
	if len(clips) == 0 {
		return nil
	}
	return &clips[(i/4+k/2)%len(clips)]
}

// restBody is a REST message: JSON, or multipart with the clip when there is one.
func restBody(mid, conv, text string, clip *faultClip) (body []byte, contentType string) {
	if clip == nil {
		b, _ := json.Marshal(map[string]string{"message_id": mid, "conversation_id": conv, "text": text})
		return b, "application/json"
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range [][2]string{{"message_id", mid}, {"conversation_id", conv}, {"text", text}} {
		if f[1] != "" {
			w.WriteField(f[0], f[1])
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, clip.part, clip.name))
	h.Set("Content-Type", clip.mime)
	p, _ := w.CreatePart(h)
	p.Write(clip.data)
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// restAcked records which stages an acknowledged REST turn's answer says failed open,
// and the photo or voice note it carried (clip, may be nil).
func (l *faultLoad) restAcked(s *faultSession, mid string, clip *faultClip, degraded []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range degraded {
		if l.stats.Degraded == nil {
			l.stats.Degraded = map[string]int{}
		}
		l.stats.Degraded[d]++
	}
	if clip == nil {
		return
	}
	if s.Media == nil {
		s.Media = map[string]*faultClip{}
	}
	s.Media[mid] = clip
	l.stats.MediaTurns++
}

// checkMedia: the stored text of every acknowledged media turn says what was in the
// photo or voice note (its label, a word of its transcript). body maps message ids to
// the stored text of their message.
func (l *faultLoad) checkMedia(t *testing.T, body map[string]string, rep *faultReport) {
	for _, s := range l.sessions {
		for _, mid := range slices.Sorted(maps.Keys(s.Media)) {
			rep.MediaAcked++
			clip := s.Media[mid]
			if b, ok := body[mid]; ok && !strings.Contains(strings.ToLower(b), clip.want) {
				missed := &rep.PhotosUnlabelled
				if clip.part == "audio" {
					missed = &rep.VoicesUntranscribed
				}
				*missed++
				if *missed <= 3 {
					t.Logf("%s: stored as %q, without %q", mid, b, clip.want)
				}
			}
		}
	}
}
