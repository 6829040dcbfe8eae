package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/theory/jsonpath"
)

// operation is a compiled Operation.
type operation struct {
	name     string
	method   string
	path     *tmpl
	query    map[string]*tmpl
	body     *tmpl
	headers  map[string]*tmpl
	required [][]string
	fields   []field
	exists   *jsonpath.Path
	notFound []int
	answer   *tmpl
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// compileOperation parses every template and JSONPath of op and checks that the
// templates reference allowed fields only.
func compileOperation(name string, op Operation, allow map[string]bool) (*operation, error) {
	o := &operation{name: name, method: strings.ToUpper(op.Method), notFound: op.NotFound,
		query: map[string]*tmpl{}, headers: map[string]*tmpl{}}
	if o.method == "" {
		o.method = http.MethodGet
		if op.Body != "" {
			o.method = http.MethodPost
		}
	}
	if !identifier.MatchString(o.method) {
		return nil, fmt.Errorf("%w: operation %s: method %q", ErrConfig, name, op.Method)
	}
	if len(o.notFound) == 0 {
		o.notFound = []int{http.StatusNotFound}
	}
	if op.Path == "" {
		return nil, fmt.Errorf("%w: operation %s: path is empty", ErrConfig, name)
	}
	var err error
	var all []*tmpl
	add := func(label, text string, esc escaping) *tmpl {
		if err != nil {
			return nil
		}
		var t *tmpl
		if t, err = compileTemplate(name+"."+label, text, esc); err == nil {
			all = append(all, t)
		}
		return t
	}
	o.path = add("path", op.Path, escapePath)
	for _, k := range slices.Sorted(maps.Keys(op.Query)) {
		o.query[k] = add("query."+k, op.Query[k], escapeNone)
	}
	for _, k := range slices.Sorted(maps.Keys(op.Headers)) {
		o.headers[k] = add("headers."+k, op.Headers[k], escapeNone)
	}
	if op.Body != "" {
		o.body = add("body", op.Body, escapeJSON)
	}
	if err != nil {
		return nil, err
	}
	for _, t := range all {
		for _, f := range t.fields {
			if !allow[f] {
				return nil, fmt.Errorf("%w: template %s references %q, which is not in allow", ErrNotAllowed, t.t.Name(), f)
			}
		}
	}
	for _, r := range op.Required {
		alts := strings.Split(r, "|")
		for _, a := range alts {
			if !allow[a] {
				return nil, fmt.Errorf("%w: operation %s: required %q is not in allow", ErrNotAllowed, name, a)
			}
		}
		o.required = append(o.required, alts)
	}
	if o.fields, err = compileMap(name, op.Map, op.Types); err != nil {
		return nil, err
	}
	if op.Exists != "" {
		if o.exists, err = jsonpath.Parse(op.Exists); err != nil {
			return nil, fmt.Errorf("%w: operation %s: exists: JSONPath %q: %v", ErrConfig, name, op.Exists, err)
		}
	}
	if op.Answer != "" {
		if err := o.compileAnswer(op.Answer); err != nil {
			return nil, err
		}
	}
	return o, o.trial(allow)
}

func (o *operation) compileAnswer(text string) error {
	t, err := compileTemplate(o.name+".answer", text, escapeNone)
	if err != nil {
		return err
	}
	for _, f := range t.fields {
		if !slices.ContainsFunc(o.fields, func(m field) bool { return m.name == f }) {
			return fmt.Errorf("%w: operation %s: answer references %q, which is not in map", ErrConfig, o.name, f)
		}
	}
	o.answer = t
	return nil
}

// trial builds a request with every allowed field set to "1": the path must stay
// relative and the body must be JSON.
func (o *operation) trial(allow map[string]bool) error {
	data := map[string]string{}
	for f := range allow {
		data[f] = "1"
	}
	base, _ := url.Parse("http://connector.invalid/")
	if _, _, err := o.request(context.Background(), base, data); err != nil {
		return fmt.Errorf("%w (operation %s, with every field set to \"1\")", err, o.name)
	}
	return nil
}

// missing returns the first Required entry none of whose alternatives is set.
func (o *operation) missing(data map[string]string) string {
	for _, alts := range o.required {
		if !slices.ContainsFunc(alts, func(a string) bool { return data[a] != "" }) {
			return strings.Join(alts, "|")
		}
	}
	return ""
}

// request renders the operation over data (allowed fields only) into a request
// against base; body is the exact body sent.
func (o *operation) request(ctx context.Context, base *url.URL, data map[string]string) (*http.Request, []byte, error) {
	p, err := o.path.render(data)
	if err != nil {
		return nil, nil, err
	}
	ref, err := url.Parse(p)
	if err != nil || ref.Scheme != "" || ref.Host != "" || ref.User != nil || ref.Fragment != "" {
		return nil, nil, fmt.Errorf("%w: operation %s: path must render to a relative path and query", ErrConfig, o.name)
	}
	u := *base
	u.Path = strings.TrimSuffix(base.Path, "/") + "/" + strings.TrimPrefix(ref.Path, "/")
	u.RawPath = strings.TrimSuffix(base.EscapedPath(), "/") + "/" + strings.TrimPrefix(ref.EscapedPath(), "/")
	u.RawQuery = ref.RawQuery
	if len(o.query) > 0 {
		q := url.Values{}
		for k, t := range o.query {
			v, err := t.render(data)
			if err != nil {
				return nil, nil, err
			}
			q.Set(k, v)
		}
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += q.Encode()
	}
	var body []byte
	if o.body != nil {
		b, err := o.body.render(data)
		if err != nil {
			return nil, nil, err
		}
		if !json.Valid([]byte(b)) {
			return nil, nil, fmt.Errorf("%w: operation %s: body does not render to JSON", ErrConfig, o.name)
		}
		body = []byte(b)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, o.method, u.String(), rd)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: operation %s: cannot build the request", ErrConfig, o.name)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, t := range o.headers {
		v, err := t.render(data)
		if err != nil {
			return nil, nil, err
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, nil, fmt.Errorf("%w: header %s would carry a control character", ErrRejected, k)
		}
		req.Header.Set(k, v)
	}
	return req, body, nil
}

// decode maps a 2xx answer. An empty body is JSON null. Not found when Exists (or,
// without it, every Map path) selects nothing.
func (o *operation) decode(raw []byte) (Result, error) {
	var doc any
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return Result{}, fmt.Errorf("%w: the answer is not JSON", ErrBadResponse)
		}
		if _, err := dec.Token(); err != io.EOF {
			return Result{}, fmt.Errorf("%w: data after the JSON answer", ErrBadResponse)
		}
	}
	res := Result{Fields: map[string]any{}}
	for _, f := range o.fields {
		v, ok, err := f.extract(doc)
		if err != nil {
			return Result{}, err
		}
		if ok {
			res.Fields[f.name] = v
		}
	}
	switch {
	case o.exists != nil:
		res.Found = len(selectNodes(o.exists, doc)) > 0
	case len(o.fields) > 0:
		res.Found = len(res.Fields) > 0
	default:
		res.Found = true
	}
	if !res.Found {
		return Result{}, fmt.Errorf("%w: the answer holds no record", ErrNotFound)
	}
	if o.answer != nil {
		data := make(map[string]any, len(o.fields))
		for _, f := range o.fields {
			data[f.name] = ""
		}
		maps.Copy(data, res.Fields)
		a, err := o.answer.renderAny(data)
		if err != nil {
			return Result{}, fmt.Errorf("%w: operation %s: %v", ErrBadResponse, o.name, err)
		}
		res.Answer = a
	}
	return res, nil
}
