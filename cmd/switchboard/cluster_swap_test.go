//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/vision"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

// Scenario 6 of issue 20: while the load runs (photos among it), an ML engineer pushes
// version 2 of the vision model to one replica and activates it, and a supervisor adds
// an FAQ entry through another's POST /v1/kb/documents. Every replica must serve both
// (measured: how long until each does), and no turn may fail meanwhile.

// faultUpdateFAQ is the entry TestFaultModelSwap adds to the knowledge base under load.
// The stub model (faqLLM) knows it from the start, but can answer it only from a
// passage that holds it: a replica on the old knowledge base does not.
var faultUpdateFAQ = [2]string{"When does the winter sale start?", "The winter sale starts on 1 December."}

// swapWithin bounds the wait for every replica to serve a change.
const swapWithin = 60 * time.Second

// TestFaultModelSwap: a model swap and a knowledge-base update on every replica under
// load: zero failed turns, every replica answers the new FAQ entry and serves the new
// model version (its photo turns run on it), and the time until all three do.
func TestFaultModelSwap(t *testing.T) {
	var c *faultCluster
	var kbServed, modelServed []time.Duration
	var kbErr, modelErr error
	var answers []string
	rep := runFaultScenario(t, "model swap and knowledge-base update on every replica", faultOptions{}, func(fc *faultCluster, l *faultLoad) string {
		c = fc
		return swapUnderLoad(t, fc, l, &kbServed, &modelServed, &kbErr, &modelErr, &answers)
	})
	for _, f := range rep.failures(false) {
		t.Error(f)
	}
	for stage, n := range rep.Stats.Degraded { // speech: starved recognizers, reported in the row
		if stage != "speech" {
			t.Errorf("%d turns answered with stage %s failed open", n, stage)
		}
	}
	if kbErr != nil {
		t.Errorf("knowledge-base update: %v", kbErr)
	}
	for i, a := range answers {
		if !strings.Contains(a, faultUpdateFAQ[1]) {
			t.Errorf("replica %d answered the new FAQ question with %q after the update", i, a)
		}
	}
	if c == nil || c.media.photos == nil {
		t.Logf("model swap not run: no photos (%s)", c.media.whyNoPhotos)
		return
	}
	if modelErr != nil {
		t.Errorf("model swap: %v", modelErr)
	}
	if rep.MediaAcked == 0 {
		t.Error("no photo or voice note was acknowledged: the swap saw no real requests")
	}
	for _, r := range c.replicas { // the photo turns after the swap ran on version 2
		m, err := scrape(r.base())
		if err != nil {
			t.Error(err)
			continue
		}
		v2 := m.sum("switchboard_model_requests_total", `model="mobilenet"`, `version="2"`)
		errs := m.sum("switchboard_model_errors_total", `model="mobilenet"`)
		t.Logf("replica %d: %v inferences on mobilenet/2, %v inference errors", r.idx, v2, errs)
		if v2 == 0 || errs != 0 {
			t.Errorf("replica %d: %v inferences on version 2 and %v errors; want some and none", r.idx, v2, errs)
		}
	}
}

// swapUnderLoad is the scenario's fault: both changes at once, then the wait until
// every replica serves them, then the new question asked of each through REST.
func swapUnderLoad(t *testing.T, c *faultCluster, l *faultLoad, kbServed, modelServed *[]time.Duration, kbErr, modelErr *error, answers *[]string) string {
	sup := l.token("swap-supervisor", gateway.RoleSupervisor)
	csv := "question,answer\n" + faultUpdateFAQ[0] + "," + faultUpdateFAQ[1] + "\n"
	kbStart := time.Now()
	var job kb.Job
	if code := upload(t, c.replicas[0].base(), sup, "winter-sale.csv", csv, &job); code != http.StatusAccepted {
		t.Fatalf("POST /v1/kb/documents: %d %+v", code, job)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		*kbServed, *kbErr = untilEveryReplica(c, kbStart, func(r *faultReplica) (bool, error) { return answersNewFAQ(r, sup) })
	})
	var pushed, activated time.Duration
	if c.media.photos != nil {
		ml := l.token("swap-ml-engineer", gateway.RoleMLEngineer)
		pushStart := time.Now()
		pushVersion2(t, c.replicas[1], ml)
		pushed = time.Since(pushStart)
		modelStart := time.Now()
		var out struct{ Model models.ModelStatus }
		if err := call(c.replicas[1].base()+"/v1/models/"+faultVisionModel+"/activate", ml, "application/json", []byte(`{"version":"2"}`), &out); err != nil {
			t.Fatalf("activate version 2: %v", err)
		}
		activated = time.Since(modelStart)
		wg.Go(func() {
			*modelServed, *modelErr = untilEveryReplica(c, modelStart, func(r *faultReplica) (bool, error) { return servesVersion2(r, ml) })
		})
	}
	wg.Wait()
	if *modelErr == nil && *modelServed != nil {
		*modelErr = classifiesWithVersion2(c, l.token("swap-ml-engineer", gateway.RoleMLEngineer))
	}
	for _, r := range c.replicas {
		*answers = append(*answers, l.askOnce(r, fmt.Sprintf("swap:%d", r.idx), faultUpdateFAQ[0]))
	}
	note := fmt.Sprintf("; the new FAQ entry answered by replicas 0, 1, 2 %s after its upload to replica 0", spread(*kbServed))
	if *modelServed != nil {
		note += fmt.Sprintf("; model version 2 pushed to replica 1 in %.1f s, activated there in %.1f s (load and evaluation), "+
			"served by replicas 0, 1, 2 %s after the activation was sent", pushed.Seconds(), activated.Seconds(), spread(*modelServed))
	}
	return note
}

// spread is "in 0.4, 2.1, never s" for the replicas' times, in replica order (a
// negative time: it never served).
func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "(not measured)"
	}
	s := make([]string, len(d))
	for i, x := range d {
		s[i] = strconv.FormatFloat(x.Seconds(), 'f', 1, 64)
		if x < 0 {
			s[i] = "never"
		}
	}
	return "in " + strings.Join(s, ", ") + " s"
}

// untilEveryReplica polls served on every replica (every 50 ms, swapWithin at most)
// and returns how long after start each one first served (-1: never).
func untilEveryReplica(c *faultCluster, start time.Time, served func(*faultReplica) (bool, error)) ([]time.Duration, error) {
	out := make([]time.Duration, len(c.replicas))
	errs := make([]error, len(c.replicas))
	var wg sync.WaitGroup
	for i, r := range c.replicas {
		wg.Go(func() {
			var last error
			for time.Since(start) < swapWithin {
				ok, err := served(r)
				if ok {
					out[i] = time.Since(start)
					return
				}
				last = err
				time.Sleep(50 * time.Millisecond)
			}
			out[i] = -1
			errs[i] = fmt.Errorf("replica %d does not serve it %v later (last: %v)", i, swapWithin, last)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// answersNewFAQ asks the replica's knowledge base (POST /v1/kb/ask) the new question.
func answersNewFAQ(r *faultReplica, tok string) (bool, error) {
	q, _ := json.Marshal(map[string]string{"question": faultUpdateFAQ[0]})
	var out struct{ Answer string }
	if err := call(r.base()+"/v1/kb/ask", tok, "application/json", q, &out); err != nil {
		return false, err
	}
	return strings.Contains(out.Answer, faultUpdateFAQ[1]), nil
}

// servesVersion2 reads the replica's GET /v1/models: version 2 is the active one.
func servesVersion2(r *faultReplica, tok string) (bool, error) {
	var out struct{ Models []models.ModelStatus }
	if err := call(r.base()+"/v1/models", tok, "", nil, &out); err != nil {
		return false, err
	}
	for _, m := range out.Models {
		for _, v := range m.Versions {
			if m.Name == faultVisionModel && v.Version == "2" && slices.Contains(v.Roles, "active") {
				return true, nil
			}
		}
	}
	return false, nil
}

// classifiesWithVersion2: each replica labels a photo with version 2, correctly.
func classifiesWithVersion2(c *faultCluster, tok string) error {
	var errs []error
	photo := c.media.photos[0]
	for _, r := range c.replicas {
		var res vision.Result
		if err := call(r.base()+"/v1/vision/classify", tok, photo.mime, photo.data, &res); err != nil {
			errs = append(errs, err)
			continue
		}
		if res.Version != "2" || len(res.Labels) == 0 || !strings.Contains(strings.ToLower(res.Labels[0].Name), photo.want) {
			errs = append(errs, fmt.Errorf("replica %d classified %s with version %s as %+v", r.idx, photo.name, res.Version, res.Labels))
		}
	}
	return errors.Join(errs...)
}

// pushVersion2 pushes version 2 of the vision model through POST /v1/models/…/versions
// as an ML engineer does: the same trained network, now with an evaluation set of two
// labelled photos it must classify correctly before any replica serves it.
func pushVersion2(t *testing.T, r *faultReplica, tok string) {
	t.Helper()
	files := map[string]string{ // part file name → shared data
		"model.onnx": "onnx_mobilenetv2_12_int8/mobilenetv2-12-int8.onnx", "labels.txt": "imagenet_labels/squeeze-labels.txt",
		"pelican.jpeg": "images_wonnx/pelican.jpeg", "bald_eagle.jpeg": "images_wonnx/bald_eagle.jpeg",
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	add := func(field, name string, data []byte) {
		p, _ := w.CreateFormFile(field, name)
		p.Write(data)
	}
	add("manifest", "manifest.yaml", []byte(visiontest.Manifest+"eval:\n  set: eval.csv\n  min_accuracy: 1\n"))
	add("files", "eval.csv", []byte("image,label\npelican.jpeg,144\nbald_eagle.jpeg,22\n"))
	for _, name := range slices.Sorted(maps.Keys(files)) {
		data, err := os.ReadFile(testenv.SharedData(t, files[name]))
		if err != nil {
			t.Fatal(err)
		}
		field := "files"
		if name == "model.onnx" {
			field = "model"
		}
		add(field, name, data)
	}
	w.Close()
	var out struct{ Version string }
	if err := call(r.base()+"/v1/models/"+faultVisionModel+"/versions", tok, w.FormDataContentType(), body.Bytes(), &out); err != nil || out.Version != "2" {
		t.Fatalf("push of version 2: %v, version %q", err, out.Version)
	}
}

// call POSTs body (GETs without a content type) with a bearer token and decodes a 2xx
// JSON answer into out.
func call(url, tok, contentType string, body []byte, out any) error {
	method := http.MethodGet
	if contentType != "" {
		method = http.MethodPost
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := faultHTTPClient(30 * time.Second).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d %s", method, url, resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

// askOnce is one REST customer's turn on replica r, counted by the checker like the
// load's: it returns the reply ("" when it failed, which is counted as the load's
// failures are).
func (l *faultLoad) askOnce(r *faultReplica, subject, question string) string {
	s := &faultSession{Subject: subject, Seqs: map[int64]int{}, byAuthor: map[string]int{}}
	l.mu.Lock()
	l.sessions = append(l.sessions, s)
	l.mu.Unlock()
	mid := "m-" + strings.ReplaceAll(subject, ":", "-")
	body, ctype := restBody(mid, "", question+" ["+mid+"]", nil)
	client := faultHTTPClient(40 * time.Second)
	defer client.CloseIdleConnections()
	out, status, _, err := l.post(context.Background(), client, r.base()+"/v1/messages", l.token(subject, gateway.RoleCustomer), mid, ctype, body)
	l.count(func(st *faultLoadStats) { st.Attempts++ })
	if err != nil || status != http.StatusOK {
		l.classify("POST /v1/messages "+r.addr, err, status)
		return ""
	}
	l.acked(s, mid, out.ConversationID, out.Escalated, out.Duplicate, out.Reply == "")
	return out.Reply
}

// metricsText is a replica's /metrics.
type metricsText []string

func scrape(base string) (metricsText, error) {
	resp, err := faultHTTPClient(10 * time.Second).Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var lines metricsText
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// sum adds the values of the series of name whose labels include every one of labels.
func (m metricsText) sum(name string, labels ...string) float64 {
	var total float64
	for _, line := range m {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		set, value, ok := strings.Cut(rest, "} ")
		if !ok || slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(set, l) }) {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			total += v
		}
	}
	return total
}
