package openapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// Markdown writes the API reference (docs/api.md) from the description: the introduction,
// then each tag's operations in the order the description lists them, then the schemas.
func Markdown(ctx context.Context, w io.Writer) error {
	doc, err := Load(ctx)
	if err != nil {
		return err
	}
	order, err := operationOrder()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	m := &markdown{w: bw, doc: doc}
	m.intro()
	for _, tag := range doc.Tags {
		var ops []operation
		for _, o := range order {
			if slices.Contains(o.op(doc).Tags, tag.Name) {
				ops = append(ops, o)
			}
		}
		m.tag(tag, ops)
	}
	m.schemas()
	return bw.Flush()
}

// operation names one operation of the description.
type operation struct{ method, path string }

func (o operation) op(doc *openapi3.T) *openapi3.Operation {
	return doc.Paths.Value(o.path).GetOperation(strings.ToUpper(o.method))
}

// operationOrder is the operations in the order the YAML lists them (kin-openapi keeps
// paths in a map).
func operationOrder() ([]operation, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(spec, &root); err != nil {
		return nil, err
	}
	paths := mappingValue(root.Content[0], "paths")
	if paths == nil {
		return nil, fmt.Errorf("openapi.yaml: no paths")
	}
	var out []operation
	for i := 0; i+1 < len(paths.Content); i += 2 {
		item := paths.Content[i+1]
		for j := 0; j+1 < len(item.Content); j += 2 {
			switch k := item.Content[j].Value; k {
			case "get", "put", "post", "delete", "patch", "head", "options":
				out = append(out, operation{method: k, path: paths.Content[i].Value})
			}
		}
	}
	return out, nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

type markdown struct {
	w   *bufio.Writer
	doc *openapi3.T
}

func (m *markdown) printf(format string, args ...any) { fmt.Fprintf(m.w, format, args...) }

func (m *markdown) intro() {
	info := m.doc.Info
	m.printf("# %s\n\n", info.Title)
	m.printf("<!-- Generated from gateway/openapi/openapi.yaml by `switchboard openapi docs > docs/api.md`; do not edit. -->\n\n")
	m.printf("%s\n\n", info.Summary)
	m.printf("The OpenAPI %s description itself: `GET /openapi.json` on a running server, or\n`gateway/openapi/openapi.yaml`.\n\n", m.doc.OpenAPI)
	m.printf("%s\n", strings.TrimSpace(info.Description))
	m.printf("\n## Contents\n\n")
	for _, t := range m.doc.Tags {
		m.printf("- [%s](#%s): %s\n", t.Name, anchor("tag", t.Name), t.Description)
	}
	m.printf("- [Schemas](#schemas)\n")
}

func (m *markdown) tag(t *openapi3.Tag, ops []operation) {
	m.printf("\n<a id=\"%s\"></a>\n\n## %s\n\n%s\n", anchor("tag", t.Name), t.Name, t.Description)
	for _, o := range ops {
		m.operation(o)
	}
}

func (m *markdown) operation(o operation) {
	op := o.op(m.doc)
	item := m.doc.Paths.Value(o.path)
	m.printf("\n### `%s %s`\n\n%s.\n\n", strings.ToUpper(o.method), o.path, strings.TrimSuffix(op.Summary, "."))
	m.printf("- Roles: %s\n", roles(op))
	m.printf("- Authentication: %s\n", m.security(op))
	if d := strings.TrimSpace(op.Description); d != "" {
		m.printf("\n%s\n", d)
	}
	params := slices.Concat(item.Parameters, op.Parameters)
	if len(params) > 0 {
		m.printf("\n| parameter | in | type | required | description |\n|---|---|---|---|---|\n")
		for _, p := range params {
			v := p.Value
			m.printf("| `%s` | %s | %s | %s | %s |\n", v.Name, v.In, typeOf(v.Schema), yesNo(v.Required), cell(v.Description))
		}
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		m.printf("\nRequest body%s:\n\n", map[bool]string{true: " (required)", false: ""}[rb.Value.Required])
		m.content(rb.Value.Content)
	}
	m.printf("\n| status | meaning | body |\n|---|---|---|\n")
	for _, code := range statusCodes(op.Responses) {
		r := op.Responses.Value(code).Value
		m.printf("| %s | %s | %s |\n", code, cell(*r.Description), bodies(r.Content))
	}
}

// content lists a body's media types; an inline object's properties get a table.
func (m *markdown) content(c openapi3.Content) {
	for _, mt := range sortedKeys(c) {
		s := c[mt].Schema
		if s != nil && s.Ref == "" && s.Value != nil && len(s.Value.Properties) > 0 {
			m.printf("- `%s`: an object\n\n", mt)
			m.properties(s.Value)
			continue
		}
		m.printf("- `%s`: %s\n", mt, typeOf(s))
	}
}

func (m *markdown) properties(s *openapi3.Schema) {
	m.printf("| property | type | required | description |\n|---|---|---|---|\n")
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		desc := ""
		if p.Value != nil {
			desc = p.Value.Description
		}
		m.printf("| `%s` | %s | %s | %s |\n", name, typeOf(p), yesNo(slices.Contains(s.Required, name)), cell(desc))
	}
}

func (m *markdown) schemas() {
	m.printf("\n<a id=\"schemas\"></a>\n\n## Schemas\n")
	for _, name := range sortedKeys(m.doc.Components.Schemas) {
		s := m.doc.Components.Schemas[name].Value
		m.printf("\n<a id=\"%s\"></a>\n\n### %s\n\n", anchor("schema", name), name)
		if s.Description != "" {
			m.printf("%s\n\n", strings.TrimSpace(s.Description))
		}
		switch {
		case len(s.Properties) > 0:
			if s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has {
				m.printf("No other properties.\n\n")
			}
			m.properties(s)
		case len(s.AllOf) > 0:
			m.printf("All of: %s.\n", joinTypes(s.AllOf, ", "))
		default:
			m.printf("%s.\n", typeOf(&openapi3.SchemaRef{Value: s}))
		}
	}
}

func (m *markdown) security(op *openapi3.Operation) string {
	reqs := m.doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	if len(reqs) == 0 {
		return "none (public, or the platform's own signature)"
	}
	var out []string
	for _, r := range reqs {
		for _, name := range sortedKeys(r) {
			switch ss := m.doc.Components.SecuritySchemes[name].Value; ss.Type {
			case "http":
				out = append(out, "`Authorization: Bearer <JWT>`")
			case "apiKey":
				out = append(out, fmt.Sprintf("`?%s=` (%s)", ss.Name, ss.In))
			}
		}
	}
	return strings.Join(out, " or ")
}

func roles(op *openapi3.Operation) string {
	raw, _ := op.Extensions["x-roles"].([]any)
	if len(raw) == 0 {
		return "none"
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = fmt.Sprintf("`%v`", r)
	}
	return strings.Join(out, ", ")
}

// statusCodes are a responses' codes, numbers first, then default.
func statusCodes(r *openapi3.Responses) []string {
	codes := sortedKeys(r.Map())
	if i := slices.Index(codes, "default"); i >= 0 {
		codes = append(slices.Delete(codes, i, i+1), "default")
	}
	return codes
}

func bodies(c openapi3.Content) string {
	if len(c) == 0 {
		return "none"
	}
	var out []string
	for _, mt := range sortedKeys(c) {
		out = append(out, fmt.Sprintf("`%s` %s", mt, typeOf(c[mt].Schema)))
	}
	return cell(strings.Join(out, "; "))
}

// typeOf is a schema in a few words, with links to the named ones.
func typeOf(ref *openapi3.SchemaRef) string {
	if ref == nil {
		return "any"
	}
	if ref.Ref != "" {
		name := ref.Ref[strings.LastIndex(ref.Ref, "/")+1:]
		return fmt.Sprintf("[%s](#%s)", name, anchor("schema", name))
	}
	s := ref.Value
	switch {
	case s == nil:
		return "any"
	case len(s.AnyOf) > 0:
		return joinTypes(s.AnyOf, " or ")
	case len(s.OneOf) > 0:
		return joinTypes(s.OneOf, " or ")
	case len(s.AllOf) > 0:
		return joinTypes(s.AllOf, " and ")
	case s.Const != nil:
		return fmt.Sprintf("`%v`", s.Const)
	}
	types := s.Type.Slice()
	if len(types) == 0 {
		return "any"
	}
	var out []string
	for _, t := range types {
		out = append(out, oneType(t, s))
	}
	return strings.Join(out, " or ")
}

func oneType(t string, s *openapi3.Schema) string {
	switch t {
	case "array":
		return "array of " + typeOf(s.Items)
	case "object":
		if ap := s.AdditionalProperties.Schema; ap != nil {
			return "map of " + typeOf(ap)
		}
		if len(s.Properties) == 0 {
			return "object"
		}
		var props []string
		for _, name := range sortedKeys(s.Properties) {
			req := ""
			if !slices.Contains(s.Required, name) {
				req = "?"
			}
			props = append(props, fmt.Sprintf("`%s`%s: %s", name, req, typeOf(s.Properties[name])))
		}
		return "{" + strings.Join(props, ", ") + "}"
	case "string":
		switch {
		case len(s.Enum) > 0:
			var vals []string
			for _, v := range s.Enum {
				vals = append(vals, fmt.Sprintf("`%v`", v))
			}
			return "one of " + strings.Join(vals, ", ")
		case s.ContentMediaType != "", s.ContentEncoding != "":
			return "bytes"
		case s.Format != "":
			return "string (" + s.Format + ")"
		}
	}
	return t
}

func joinTypes(refs openapi3.SchemaRefs, sep string) string {
	var out []string
	for _, r := range refs {
		out = append(out, typeOf(r))
	}
	return strings.Join(out, sep)
}

func anchor(kind, name string) string {
	return kind + "-" + strings.ToLower(strings.NewReplacer(" ", "-", "/", "-").Replace(name))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// cell makes text fit in a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(strings.TrimSpace(s))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
