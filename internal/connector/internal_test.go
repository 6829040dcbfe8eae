package connector

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/theory/jsonpath"
)

func TestTemplateFields(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"/contacts/{{.id}}", []string{"id"}},
		{"{{if .email}}e={{.email}}{{else}}p={{.phone}}{{end}}", []string{"email", "phone"}},
		{"{{with .email}}{{.}}{{end}}{{range .tags}}{{end}}", []string{"email", "tags"}},
		{"{{$.order_id | soql}}{{$x := .a}}{{$x}}", []string{"a", "order_id"}},
		{`{{define "sub"}}{{.hidden}}{{end}}{{template "sub" .}}`, []string{"hidden"}},
		{"static", []string{}},
	}
	for _, tt := range tests {
		tm, err := compileTemplate("t", tt.text, escapeNone)
		if err != nil {
			t.Fatalf("%q: %v", tt.text, err)
		}
		if diff := cmp.Diff(tt.want, tm.fields); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.text, diff)
		}
	}
}

func TestRenderEscapes(t *testing.T) {
	data := map[string]string{"v": `a b+c/d&e="f'` + "\n"}
	tests := []struct {
		esc  escaping
		text string
		want string
	}{
		{escapePath, "/x/{{.v}}", "/x/a%20b%2Bc%2Fd%26e%3D%22f%27%0A"},
		{escapeJSON, `{"v":"{{.v}}"}`, `{"v":"a b+c/d\u0026e=\"f'\n"}`},
		{escapeNone, "Email = '{{soql .v}}'", `Email = 'a b+c/d&e=\"f\'\n'`},
	}
	for _, tt := range tests {
		tm, err := compileTemplate("t", tt.text, tt.esc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tm.render(data)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%q: got %s, want %s", tt.text, got, tt.want)
		}
	}
}

// TestRenderRefusesFieldsOutsideTheData is the call-time half of the allow-list rule:
// the data holds allowed fields only, so any other reference fails.
func TestRenderRefusesFieldsOutsideTheData(t *testing.T) {
	tm, err := compileTemplate("path", "/x/{{.email}}", escapePath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.render(map[string]string{"order_id": "1"}); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("render error %v, want ErrNotAllowed", err)
	}
}

func TestConvert(t *testing.T) {
	doc := decodeJSON(t, `{"s":"gold","n":3,"f":2.5,"ns":"4","b":true,"bs":"false","multi":"vip; beta,,new",
		"arr":["a",1,true],"obj":{"k":"v"},"null":null,"nested":[["x"]],"fs":"3.0"}`)
	tests := []struct {
		path, typ string
		want      any
		wantErr   bool
		absent    bool
	}{
		{"$.s", TypeString, "gold", false, false},
		{"$.n", TypeString, "3", false, false},
		{"$.b", TypeString, "true", false, false},
		{"$.obj", TypeString, nil, true, false},
		{"$.n", TypeInt, int64(3), false, false},
		{"$.ns", TypeInt, int64(4), false, false},
		{"$.fs", TypeInt, int64(3), false, false},
		{"$.f", TypeInt, nil, true, false},
		{"$.s", TypeInt, nil, true, false},
		{"$.f", TypeFloat, 2.5, false, false},
		{"$.b", TypeBool, true, false, false},
		{"$.bs", TypeBool, false, false, false},
		{"$.s", TypeBool, nil, true, false},
		{"$.multi", TypeStrings, []string{"vip", "beta", "new"}, false, false},
		{"$.arr", TypeStrings, []string{"a", "1", "true"}, false, false},
		{"$.arr[*]", TypeStrings, []string{"a", "1", "true"}, false, false},
		{"$.nested", TypeStrings, nil, true, false},
		{"$.n", TypeAuto, int64(3), false, false},
		{"$.f", TypeAuto, 2.5, false, false},
		{"$.arr", TypeAuto, []any{"a", int64(1), true}, false, false},
		{"$.arr[*]", TypeAuto, []any{"a", int64(1), true}, false, false},
		{"$.obj", TypeJSON, map[string]any{"k": "v"}, false, false},
		{"$.null", TypeString, nil, false, true},
		{"$['s','n','null','bs']", TypeJoin, "gold 3 false", false, false},
		{"$['s','obj']", TypeJoin, nil, true, false},
		{"$.missing", TypeInt, nil, false, true},
	}
	for _, tt := range tests {
		f := field{name: "f", path: jsonpath.MustParse(tt.path), typ: tt.typ}
		got, ok, err := f.extract(doc)
		if (err != nil) != tt.wantErr || ok == (tt.absent || tt.wantErr) {
			t.Errorf("%s as %s: ok %v, error %v", tt.path, tt.typ, ok, err)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadResponse) {
			t.Errorf("%s as %s: error %v, want ErrBadResponse", tt.path, tt.typ, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s as %s (-want +got):\n%s", tt.path, tt.typ, diff)
		}
	}
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatal(err)
	}
	// As decode does: numbers as json.Number.
	var fix func(any) any
	fix = func(v any) any {
		switch v := v.(type) {
		case float64:
			b, _ := json.Marshal(v)
			return json.Number(b)
		case []any:
			for i := range v {
				v[i] = fix(v[i])
			}
		case map[string]any:
			for k := range v {
				v[k] = fix(v[k])
			}
		}
		return v
	}
	return fix(doc)
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"7", 7 * time.Second}, {"-1", 0}, {"soon", 0},
		{"Fri, 14 Mar 2025 12:00:30 GMT", 30 * time.Second},
		{"Fri, 14 Mar 2025 11:00:00 GMT", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.h, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.h, got, tt.want)
		}
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	c := &Connector{cfg: Config{RetryBackoff: 100 * time.Millisecond}}
	for retry, max := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000} {
		max *= time.Millisecond
		for range 50 {
			if d := c.backoff(retry); d < max/2 || d > max {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", retry, d, max/2, max)
			}
		}
	}
}

func TestSign(t *testing.T) {
	// printf '%s' '1700000000.POST./api/search?x=1.{"a":1}' | openssl dgst -sha256 -hmac secret
	got := Sign([]byte("secret"), "1700000000", "POST", "/api/search?x=1", []byte(`{"a":1}`))
	if want := "ff445ee325a23000cbbf08e4d5bbe3a5b2fc40487d94b35f29259e47a359a1e5"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
