package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway/openapi"
)

// The API tests' responses are checked against the OpenAPI description
// (gateway/openapi/openapi.yaml): newInstance wraps its server's handler in
// specCheck, which finds each request's operation and validates the response (and,
// when it succeeded, the request) with kin-openapi's openapi3filter.

// notInSpec are the routes the description leaves out on purpose: the web pages.
var notInSpec = []string{"GET /", "GET /ui/*path"}

// spec is the description, loaded and validated once, and its router.
var spec = sync.OnceValues(func() (*specRouter, error) {
	doc, err := openapi.Load(context.Background())
	if err != nil {
		return nil, err
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &specRouter{doc: doc, router: r}, nil
})

type specRouter struct {
	doc    *openapi3.T
	router routers.Router
	mu     sync.Mutex // one check at a time: kin-openapi compiles schemas lazily
}

// maxCaptured is how much of a request or response body specCheck keeps to validate; a
// bigger body's status and headers are still checked.
const maxCaptured = 4 << 20

// specCheck wraps h: every request/response pair that passes through is checked against
// the description, and a mismatch fails t.
func specCheck(t *testing.T, h http.Handler) http.Handler {
	sr, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// a request without a body counts as read to its end: its parameters are checked
		reqBody := &capped{max: maxCaptured, eof: r.ContentLength == 0 && len(r.TransferEncoding) == 0}
		if r.Body != nil {
			r.Body = teeBody{ReadCloser: r.Body, w: reqBody}
		}
		rw := &recorder{ResponseWriter: w, body: capped{max: maxCaptured}}
		// what the handler may change of the request: the checker sees it as sent
		sent := r.Clone(r.Context())
		h.ServeHTTP(rw, r)
		if msg := sr.check(sent, reqBody, rw); msg != "" {
			t.Errorf("OpenAPI: %s %s → %d: %s", sent.Method, sent.URL.RequestURI(), rw.status(), msg)
		}
	})
}

// check validates one pair; it returns what does not match the description ("" if all does).
func (sr *specRouter) check(req *http.Request, reqBody *capped, rw *recorder) string {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	status := rw.status()
	if corsLayer(req, status, rw) {
		return ""
	}
	route, params, err := sr.router.FindRoute(specURL(req))
	if err != nil {
		// an unknown path or method: the gateway's own 404/405 in the error shape
		if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && isErrorBody(rw) {
			return ""
		}
		return "no operation in the description: " + err.Error()
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if status < 400 && route.Operation.Responses.Status(status) == nil {
		return "a status the operation does not declare"
	}
	if rw.hijacked {
		return "" // a WebSocket: the 101 is declared; its frames are not HTTP
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: rw.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	ct := rw.Header().Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case rw.body.over:
		out.Options.ExcludeResponseBody = true
	case rw.body.Len() > 0 && openapi3filter.RegisteredBodyDecoder(mt) == nil:
		// a file or an event stream: its content type must be declared, its bytes are not JSON
		if resp := responseFor(route.Operation, status); resp == nil || resp.Content.Get(ct) == nil {
			return "content type " + ct + " not declared"
		}
		out.Options.ExcludeResponseBody = true
	}
	out.SetBodyBytes(rw.body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return "response: " + err.Error()
	}
	// A request the gateway took must be one the description admits; a refused one
	// (4xx) may be anything.
	if status >= 300 || reqBody.over || !reqBody.eof {
		return ""
	}
	checked := req.Clone(context.Background())
	checked.Body = io.NopCloser(bytes.NewReader(reqBody.Bytes()))
	in.Request = checked
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return "request (answered " + http.StatusText(status) + "): " + err.Error()
	}
	return ""
}

// specURL is req as the router matches it: on the description's server (/).
func specURL(req *http.Request) *http.Request {
	r := req.Clone(context.Background())
	r.URL.Scheme, r.URL.Host, r.Host = "", "", ""
	return r
}

// corsLayer: an answer of the CORS layer, before any operation (the description's
// introduction says so): a preflight, or an empty 403 to a browser of another origin.
func corsLayer(req *http.Request, status int, rw *recorder) bool {
	if req.Header.Get("Origin") == "" {
		return false
	}
	preflight := req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != ""
	refused := status == http.StatusForbidden && rw.body.Len() == 0 && rw.Header().Get("Content-Type") == ""
	return preflight || refused
}

func responseFor(op *openapi3.Operation, status int) *openapi3.Response {
	if ref := op.Responses.Status(status); ref != nil {
		return ref.Value
	}
	if ref := op.Responses.Default(); ref != nil {
		return ref.Value
	}
	return nil
}

func isErrorBody(rw *recorder) bool {
	var e ErrorBody
	return json.Unmarshal(rw.body.Bytes(), &e) == nil && e.Code != "" && e.Error != ""
}

// capped keeps the first max bytes written to it.
type capped struct {
	bytes.Buffer
	max  int
	over bool
	eof  bool // (a request body) read to its end
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); len(p) > room {
		c.over = true
		c.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

// teeBody keeps what the handler reads of the request body.
type teeBody struct {
	io.ReadCloser
	w *capped
}

func (b teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.Write(p[:n])
	if errors.Is(err, io.EOF) {
		b.w.eof = true
	}
	return n, err
}

// recorder passes the response on and keeps its status and (the first maxCaptured
// bytes of) its body. It flushes and hijacks as the writer it wraps does.
type recorder struct {
	http.ResponseWriter
	code     int
	body     capped
	hijacked bool
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	if code == http.StatusSwitchingProtocols {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the response writer cannot hijack")
	}
	r.hijacked = true
	if r.code == 0 {
		r.code = http.StatusSwitchingProtocols
	}
	return hj.Hijack()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// ginParam turns gin's :id and *path into OpenAPI's {id} and {path}.
var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// TestOpenAPIDescribesEveryRoute: every route gin registers is in the description with
// the same method and roles (x-roles), and every operation of the description is a
// route gin registers.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	sr, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, newPool(t), "openapi-routes:")
	roles := map[string][]string{}
	for _, r := range in.srv.Routes() {
		roles[r.Method+" "+r.Path] = rolesOf(r.Roles)
	}
	gin := map[string]bool{}
	for _, r := range in.srv.engine.Routes() {
		key := r.Method + " " + r.Path
		if slices.Contains(notInSpec, key) {
			continue
		}
		gin[key] = true
		path := ginParam.ReplaceAllString(r.Path, "{$1}")
		item := sr.doc.Paths.Value(path)
		var op *openapi3.Operation
		if item != nil {
			op = item.GetOperation(r.Method)
		}
		if op == nil {
			t.Errorf("%s %s (gin) is not in the description as %s %s", r.Method, r.Path, r.Method, path)
			continue
		}
		want, ok := roles[key]
		if !ok {
			t.Errorf("%s: registered with gin but not through Server.handle", key)
			continue
		}
		var got []string
		if raw, ok := op.Extensions["x-roles"]; ok {
			for _, v := range raw.([]any) {
				got = append(got, v.(string))
			}
		} else {
			t.Errorf("%s %s: no x-roles", r.Method, path)
		}
		slices.Sort(got)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s %s: x-roles differ from the route's roles (-route +description):\n%s", r.Method, path, d)
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != (len(want) == 0) {
			t.Errorf("%s %s: security %v, but roles %v", r.Method, path, op.Security, want)
		}
	}
	for path, item := range sr.doc.Paths.Map() {
		for method := range item.Operations() {
			gp := regexp.MustCompile(`\{([A-Za-z_]+)\}`).ReplaceAllString(path, ":$1")
			if !gin[method+" "+gp] {
				t.Errorf("%s %s is in the description but gin has no %s %s", method, path, method, gp)
			}
		}
	}
	t.Logf("%d routes, %d paths in the description", len(gin), sr.doc.Paths.Len())
}

func rolesOf(rs []Role) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, string(r))
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// TestOpenAPIServed: GET /openapi.json serves the description as JSON, without a
// token, cacheable.
func TestOpenAPIServed(t *testing.T) {
	in := newInstance(t, newPool(t), "openapi-served:")
	resp, err := http.Get(in.http.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") || strings.Contains(cc, "no-store") {
		t.Fatalf("Cache-Control %q: want cacheable", cc)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Paths.Find("/v1/messages") == nil {
		t.Fatalf("openapi %q, /v1/messages %v", doc.OpenAPI, doc.Paths.Find("/v1/messages") != nil)
	}
}

// TestOpenAPICheckCatchesAMismatch: the check that wraps the API tests' server fails on
// a response the description does not admit (a wrong type, a missing field, an undeclared
// success status, another error shape), and on a request it does not admit that was
// answered with success; it passes the gateway's real shapes.
func TestOpenAPICheckCatchesAMismatch(t *testing.T) {
	sr, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	const ticket = `{"ticket": {"id": "t1", "customer_id": "c", "customer_name": "", "conversation_id": "v", "subject": "", "status": "open",
		"priority": "high", "skills": null, "vip_tier": 0, "version": 1, "created_at": "2026-01-02T15:04:05Z", "updated_at": "2026-01-02T15:04:05Z",
		"first_response_breached": false, "resolution_breached": false, "tags": []}, "assignment": null}`
	for _, c := range []struct {
		name, method, path, request string
		status                      int
		body                        string
		ok                          bool
	}{
		{"fits", http.MethodGet, "/v1/tickets", "", http.StatusOK, `{"tickets": []}`, true},
		{"wrong type", http.MethodGet, "/v1/tickets", "", http.StatusOK, `{"tickets": 3}`, false},
		{"missing field", http.MethodGet, "/v1/skill-groups", "", http.StatusOK, `{}`, false},
		{"undeclared status", http.MethodGet, "/v1/tickets", "", http.StatusCreated, `{"tickets": []}`, false},
		{"error shape", http.MethodGet, "/v1/tickets", "", http.StatusForbidden, `{"error": "no", "code": "forbidden"}`, true},
		{"not the error shape", http.MethodGet, "/v1/tickets", "", http.StatusForbidden, `{"message": "no"}`, false},
		{"unknown path", http.MethodGet, "/v1/nope", "", http.StatusNotFound, `{"error": "no route", "code": "not_found"}`, true},
		{"unknown path, other answer", http.MethodGet, "/v1/nope", "", http.StatusOK, `{}`, false},
		{"a query out of range, answered", http.MethodGet, "/v1/tickets?limit=0", "", http.StatusOK, `{"tickets": []}`, false},
		{"a query out of range, refused", http.MethodGet, "/v1/tickets?limit=0", "", http.StatusBadRequest, `{"error": "limit", "code": "invalid"}`, true},
		{"a body that fits", http.MethodPut, "/v1/tickets/t1/priority", `{"priority": "high"}`, http.StatusOK, ticket, true},
		{"a body that does not, answered", http.MethodPut, "/v1/tickets/t1/priority", `{"priority": "asap"}`, http.StatusOK, ticket, false},
		{"a nullable field", http.MethodPut, "/v1/tickets/t1/priority", `{"priority": "high"}`, http.StatusOK, strings.Replace(ticket, `"tags": []`, `"tags": null`, 1), true},
		{"null where not nullable", http.MethodPut, "/v1/tickets/t1/priority", `{"priority": "high"}`, http.StatusOK, strings.Replace(ticket, `"id": "t1"`, `"id": null`, 1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rw := &recorder{ResponseWriter: rec, body: capped{max: maxCaptured}}
			rw.Header().Set("Content-Type", "application/json; charset=utf-8")
			rw.WriteHeader(c.status)
			_, _ = rw.Write([]byte(c.body))
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.request))
			req.Header.Set("Authorization", "Bearer x")
			if c.request != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			reqBody := &capped{max: maxCaptured, eof: true}
			reqBody.WriteString(c.request)
			msg := sr.check(req, reqBody, rw)
			if (msg == "") != c.ok {
				t.Fatalf("check = %q, want ok %v", msg, c.ok)
			}
		})
	}
}
