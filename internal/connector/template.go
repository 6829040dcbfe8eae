package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
)

// escaping says how input values are escaped before a template sees them.
type escaping int

const (
	escapeNone escaping = iota // query values (encoded as a whole afterwards), headers, answers
	escapePath                 // percent-encoded
	escapeJSON                 // JSON string content
)

// tmpl is one compiled template and the top-level fields it references.
type tmpl struct {
	t      *template.Template
	esc    escaping
	fields []string
}

var funcs = template.FuncMap{
	// soql escapes a value for a SOQL string literal ('…').
	"soql": func(s string) string {
		return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`, `"`, `\"`).Replace(s)
	},
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
}

// compileTemplate parses text; missing keys are errors (a key missing from the data
// is a field outside the allow-list, see Connector.data).
func compileTemplate(name, text string, esc escaping) (*tmpl, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%w: template %s: %v", ErrConfig, name, err)
	}
	seen := map[string]bool{}
	for _, d := range t.Templates() {
		if d.Tree != nil {
			walkFields(d.Tree.Root, seen)
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	slices.Sort(out)
	return &tmpl{t: t, esc: esc, fields: out}, nil
}

// walkFields collects the first identifier of every field reference (.email,
// $.email, .email.x) under n.
func walkFields(n parse.Node, seen map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkFields(c, seen)
		}
	case *parse.ActionNode:
		walkFields(n.Pipe, seen)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, seen)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, seen)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, seen)
	case *parse.TemplateNode:
		walkFields(n.Pipe, seen)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkFields(c, seen)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkFields(a, seen)
		}
	case *parse.FieldNode:
		seen[n.Ident[0]] = true
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			seen[n.Ident[1]] = true
		}
	case *parse.ChainNode:
		walkFields(n.Node, seen)
	}
}

func walkBranch(b *parse.BranchNode, seen map[string]bool) {
	walkFields(b.Pipe, seen)
	walkFields(b.List, seen)
	walkFields(b.ElseList, seen)
}

// escape returns the data a template of kind esc sees.
func escape(data map[string]string, esc escaping) map[string]string {
	if esc == escapeNone {
		return data
	}
	out := make(map[string]string, len(data))
	for k, v := range data {
		switch esc {
		case escapePath:
			out[k] = strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
		case escapeJSON:
			b, _ := json.Marshal(v) // a string always marshals
			out[k] = string(b[1 : len(b)-1])
		}
	}
	return out
}

var missingKey = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

// render executes t over data (already restricted to the allow-list). A reference to
// a key that is not there is a field outside the allow-list: ErrNotAllowed.
func (t *tmpl) render(data map[string]string) (string, error) {
	var b bytes.Buffer
	if err := t.t.Execute(&b, escape(data, t.esc)); err != nil {
		if m := missingKey.FindStringSubmatch(err.Error()); m != nil {
			return "", fmt.Errorf("%w: template %s references %q", ErrNotAllowed, t.t.Name(), m[1])
		}
		return "", fmt.Errorf("%w: template %s failed", ErrConfig, t.t.Name())
	}
	return b.String(), nil
}

// renderAny executes an answer template over the mapped fields.
func (t *tmpl) renderAny(data map[string]any) (string, error) {
	var b bytes.Buffer
	if err := t.t.Execute(&b, data); err != nil {
		return "", errors.New("answer template failed")
	}
	return b.String(), nil
}
