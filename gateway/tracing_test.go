package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/internal/tracing/tracingtest"
)

// vagueBrain answers like scriptedBrain but cannot understand: the understand stage fails
// open (and logs it) on every turn.
type vagueBrain struct{ scriptedBrain }

func (vagueBrain) Understand(context.Context, string) (flow.Understanding, error) {
	return flow.Understanding{}, errors.New("understander unavailable")
}

const (
	callerTrace   = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan    = "00f067aa0ba902b7"
	secretText    = "where is my refund? call me on 13812345678"
	secretPhone   = "13812345678"
	traceMessages = "/v1/messages"
)

// stepNames are the names of the stages a turn runs on an instance built with deps.
func stepNames(deps flow.Deps) []string {
	var names []string
	for _, s := range append(deps.IngressSteps(), deps.ProcessSteps()...) {
		names = append(names, s.Name)
	}
	return names
}

// postTraced posts a customer message carrying the caller's W3C traceparent.
func postTraced(t *testing.T, base, token string, body map[string]any) MessageReply {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", base+traceMessages, strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	var out MessageReply
	if got := exchange(t, req, token, &out); got != 200 {
		t.Fatalf("POST %s: status %d", traceMessages, got)
	}
	return out
}

// linkedTraces are the traces of the server spans linked to the caller's span (its
// traceparent): a request's trace is its own, not the caller's.
func linkedTraces(spans tracetest.SpanStubs) map[trace.TraceID]bool {
	out := map[trace.TraceID]bool{}
	for _, s := range spans {
		for _, l := range s.Links {
			if s.SpanKind == trace.SpanKindServer && l.SpanContext.TraceID().String() == callerTrace && l.SpanContext.SpanID().String() == callerSpan {
				out[s.SpanContext.TraceID()] = true
			}
		}
	}
	return out
}

// TestTurnTrace: a REST message is a trace of its own, linked to its caller's traceparent
// (not continuing it): the request's server span, under it one "turn" span with the
// channel, conversation and outcome, and under that one span per pipeline stage, in order,
// with its outcome. No attribute, event or status holds the message's text or a stage
// error's, and the JSON log line of the stage that failed open carries the request's
// trace id.
func TestTurnTrace(t *testing.T) {
	exp := tracingtest.Record(t)
	var deps flow.Deps
	var in *instance
	logs := logged(t, func() {
		in = newInstanceWith(t, newPool(t), "trace"+strings.ToLower(t.Name()), vagueBrain{}, func(d *flow.Deps) { deps = *d })
	})
	cust := in.token(t, "web:7", RoleCustomer)
	first := postTraced(t, in.http.URL, cust, map[string]any{"message_id": "m1", "text": secretText})
	second := postTraced(t, in.http.URL, cust, map[string]any{"message_id": "m2", "conversation_id": first.ConversationID,
		"text": "something odd happened"})
	if first.Escalated || !second.Escalated || second.TicketID == "" {
		t.Fatalf("replies %+v and %+v: want the first answered, the second escalated", first, second)
	}

	all := exp.GetSpans()
	traces := linkedTraces(all)
	if len(traces) != 2 {
		t.Fatalf("%d traces linked to the caller's span, want one per request", len(traces))
	}
	var spans tracetest.SpanStubs
	for _, s := range all {
		if s.SpanContext.TraceID().String() == callerTrace {
			t.Fatalf("span %s continues the caller's trace", s.Name)
		}
		if traces[s.SpanContext.TraceID()] {
			spans = append(spans, s)
		}
	}
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	type turnView struct {
		Outcome, Channel, Conversation, Ticket string
		Stages                                 []string
	}
	var turns []turnView
	for _, s := range spans {
		if s.Name != tracing.TurnSpan {
			continue
		}
		server := byID[s.Parent.SpanID()]
		if server.Name != "POST "+traceMessages || server.SpanKind != trace.SpanKindServer || server.Parent.IsValid() {
			t.Errorf("turn span's parent %q (kind %v, parent %s), want the request's server span, a root", server.Name, server.SpanKind, server.Parent.SpanID())
		}
		v := turnView{Outcome: tracingtest.Attr(s, tracing.TurnOutcome), Channel: tracingtest.Attr(s, tracing.Channel),
			Conversation: tracingtest.Attr(s, tracing.ConversationID), Ticket: tracingtest.Attr(s, tracing.TicketID)}
		for _, c := range spans { // ended spans come in end order: the stages' is theirs
			if c.Parent.SpanID() == s.SpanContext.SpanID() {
				v.Stages = append(v.Stages, c.Name+":"+tracingtest.Attr(c, tracing.StageOutcome))
			}
		}
		turns = append(turns, v)
	}
	names := stepNames(deps)
	// A new conversation has no ticket to hand over to.
	stages := func(handover string) []string {
		var out []string
		for _, n := range names {
			o := map[string]string{"redact": "ok", "persist": "ok", "handover": handover, "rating": "ok", "understand": "degraded",
				"respond": "ok", "escalate": "ok"}[n]
			if o == "" {
				o = "skipped"
			}
			out = append(out, n+":"+o)
		}
		return out
	}
	want := []turnView{
		{Outcome: "answered", Channel: "rest", Conversation: first.ConversationID, Stages: stages("skipped")},
		{Outcome: "escalated", Channel: "rest", Conversation: first.ConversationID, Ticket: second.TicketID, Stages: stages("ok")},
	}
	if diff := cmp.Diff(want, turns); diff != "" {
		t.Errorf("turn spans (-want +got):\n%s\nspans: %v", diff, names)
	}

	for _, s := range spans {
		texts := []string{s.Name, s.Status.Description}
		for _, kv := range s.Attributes {
			texts = append(texts, kv.Value.Emit())
		}
		for _, e := range s.Events {
			for _, kv := range e.Attributes {
				texts = append(texts, kv.Value.Emit())
			}
		}
		for _, v := range texts {
			if strings.Contains(v, secretPhone) || strings.Contains(v, "refund") || strings.Contains(v, "odd happened") {
				t.Errorf("span %s holds message text: %q", s.Name, v)
			}
			if strings.Contains(v, "understander") {
				t.Errorf("span %s holds a stage error's text: %q", s.Name, v)
			}
		}
	}

	var stageLogs int
	for line := range strings.Lines(logs.String()) {
		var rec struct {
			Msg, Stage string
			TraceID    string `json:"trace_id"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "pipeline stage failed open" {
			continue
		}
		stageLogs++
		if tid, err := trace.TraceIDFromHex(rec.TraceID); rec.Stage != "understand" || err != nil || !traces[tid] {
			t.Errorf("log line %s: want stage understand with the request's trace_id", line)
		}
	}
	if stageLogs != 2 {
		t.Errorf("%d log lines of a failed-open stage, want 2:\n%s", stageLogs, logs)
	}
}

// otlpCollector is an OTLP/HTTP endpoint (POST /v1/traces, protobuf) that keeps what it
// is sent.
type otlpCollector struct {
	mu   sync.Mutex
	reqs []*coltracepb.ExportTraceServiceRequest
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if r.Method != "POST" || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		http.Error(w, "want POST /v1/traces, application/x-protobuf", http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, &req)
	c.mu.Unlock()
	resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// TestTurnSpansReachAnOTLPCollector: with OTEL_EXPORTER_OTLP_ENDPOINT set, tracing.Start
// exports over OTLP/HTTP protobuf: a turn's spans (the request's, the turn's, each
// stage's) arrive at the collector by the time the provider is shut down, in the trace
// linked to the caller's, under the configured service name.
func TestTurnSpansReachAnOTLPCollector(t *testing.T) {
	col := &otlpCollector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	for k, v := range map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_SERVICE_NAME": "switchboard-test",
		"OTEL_TRACES_EXPORTER": "", "OTEL_SDK_DISABLED": "", "OTEL_EXPORTER_OTLP_PROTOCOL": "", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "", "OTEL_TRACES_SAMPLER": ""} {
		t.Setenv(k, v)
	}
	settings, shutdown, err := tracing.Start(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil || !settings.Enabled || settings.Protocol != "http/protobuf" {
		t.Fatalf("tracing.Start: %+v, %v; want OTLP over http/protobuf", settings, err)
	}
	var deps flow.Deps
	in := newInstanceWith(t, newPool(t), "otlp"+strings.ToLower(t.Name()), scriptedBrain{}, func(d *flow.Deps) { deps = *d })
	postTraced(t, in.http.URL, in.token(t, "web:8", RoleCustomer), map[string]any{"message_id": "m1", "text": secretText})
	if err := shutdown(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	got := map[string]bool{}
	var service string
	linked := map[string]bool{}
	for _, req := range col.reqs {
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					for _, l := range s.Links {
						if trace.TraceID(l.TraceId).String() == callerTrace {
							linked[trace.TraceID(s.TraceId).String()] = true
						}
					}
				}
			}
		}
	}
	for _, req := range col.reqs {
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.Resource.GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					if tid := trace.TraceID(s.TraceId); linked[tid.String()] {
						got[s.Name] = true
					}
				}
			}
		}
	}
	if service != "switchboard-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's switchboard-test", service)
	}
	for _, name := range append([]string{"POST " + traceMessages, tracing.TurnSpan}, stepNames(deps)...) {
		if !got[name] {
			t.Errorf("span %q did not reach the collector (got %v)", name, got)
		}
	}
}

// TestWebhookTurnTraces: a channel delivery is a "queued" turn in the request's trace
// (linked to the caller's traceparent); the queue worker that answers it runs a turn of
// its own (attempt 1, answered), and its callback to the platform carries that trace on
// (traceparent, nothing else) from a client span.
func TestWebhookTurnTraces(t *testing.T) {
	exp := tracingtest.Record(t)
	r := newChannelRig(t, func(o *rigOptions) { o.client = &http.Client{Transport: tracing.Transport(nil)} })
	body := []byte(`{"message_id":"77","customer_id":"crm-9","text":"How long does a refund take?"}`)
	now := time.Now().Unix()
	if got := r.post(t, "/v1/channels/webhook", body, map[string]string{"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01",
		"baggage":                 "user.id=42",
		"X-Switchboard-Timestamp": strconv.FormatInt(now, 10), "X-Switchboard-Signature": webhook.Sign("hook-secret", now, body)}); got != 202 {
		t.Fatalf("delivery: %d", got)
	}
	r.hook.waitFor(t, 1)
	var received, answered tracetest.SpanStub
	deadline := time.Now().Add(10 * time.Second)
	for answered.Name == "" && time.Now().Before(deadline) {
		spans := exp.GetSpans()
		request := linkedTraces(spans)
		for _, s := range spans {
			if s.Name != tracing.TurnSpan || tracingtest.Attr(s, tracing.Channel) != "webhook" {
				continue
			}
			if request[s.SpanContext.TraceID()] {
				received = s
			} else {
				answered = s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := tracingtest.Attr(received, tracing.TurnOutcome); got != "queued" {
		t.Errorf("the delivery's turn in the request's trace: outcome %q, want queued", got)
	}
	if got, attempt := tracingtest.Attr(answered, tracing.TurnOutcome), tracingtest.Attr(answered, tracing.Attempt); got != "answered" || attempt != "1" {
		t.Fatalf("the worker's turn: outcome %q attempt %q, want answered by attempt 1", got, attempt)
	}
	r.hook.mu.Lock()
	tp := r.hook.hdrs[0].Get("traceparent")
	bag, state := r.hook.hdrs[0].Get("baggage"), r.hook.hdrs[0].Get("tracestate")
	r.hook.mu.Unlock()
	if bag != "" || state != "" {
		t.Errorf("the callback carried baggage %q, tracestate %q: want traceparent only", bag, state)
	}
	if want := "00-" + answered.SpanContext.TraceID().String() + "-"; !strings.HasPrefix(tp, want) {
		t.Fatalf("callback traceparent %q, want the worker's trace %s…", tp, want)
	}
	var client string
	for _, s := range exp.GetSpans() {
		if strings.Contains(tp, "-"+s.SpanContext.SpanID().String()+"-") {
			client = s.Name
		}
	}
	if client != "HTTP POST" {
		t.Errorf("the callback's parent span is %q, want the client span HTTP POST", client)
	}
}

// TestTraceSkipsProbes: /healthz, /readyz and /metrics are served without a span; any
// other request, even one no route matches, is traced.
func TestTraceSkipsProbes(t *testing.T) {
	exp := tracingtest.Record(t)
	_, hs, _ := bareServer(t, Options{Ready: []Checker{{Name: "postgres", Check: passing}}})
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/no/such/route"} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var names []string
	for _, s := range exp.GetSpans() {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"GET unmatched"}, names); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
}
