package connector

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/theory/jsonpath"
)

// Output types of Operation.Types.
const (
	TypeAuto    = "auto"
	TypeString  = "string"
	TypeInt     = "int"
	TypeFloat   = "float"
	TypeBool    = "bool"
	TypeStrings = "strings"
	TypeJSON    = "json"
	TypeJoin    = "join"
)

var types = []string{TypeAuto, TypeString, TypeInt, TypeFloat, TypeBool, TypeStrings, TypeJoin, TypeJSON}

// field is one compiled entry of Operation.Map.
type field struct {
	name string
	path *jsonpath.Path
	typ  string
}

// compileMap parses the JSONPaths of m and checks the types.
func compileMap(op string, m, typ map[string]string) ([]field, error) {
	for name := range typ {
		if _, ok := m[name]; !ok {
			return nil, fmt.Errorf("%w: operation %s: types.%s has no map entry", ErrConfig, op, name)
		}
	}
	out := make([]field, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		p, err := jsonpath.Parse(m[name])
		if err != nil {
			return nil, fmt.Errorf("%w: operation %s: map.%s: JSONPath %q: %v", ErrConfig, op, name, m[name], err)
		}
		t := typ[name]
		if t == "" {
			t = TypeAuto
		}
		if !slices.Contains(types, t) {
			return nil, fmt.Errorf("%w: operation %s: types.%s: %q is not one of %s", ErrConfig, op, name, t, strings.Join(types, ", "))
		}
		out = append(out, field{name: name, path: p, typ: t})
	}
	return out, nil
}

// selectNodes returns the non-null nodes p selects in doc.
func selectNodes(p *jsonpath.Path, doc any) []any {
	var out []any
	for _, n := range p.Select(doc) {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// extract returns the field's value in doc, false when nothing (or null) is selected.
// A type error names the field and the JSON kind, never the value.
func (f field) extract(doc any) (any, bool, error) {
	nodes := selectNodes(f.path, doc)
	if len(nodes) == 0 {
		return nil, false, nil
	}
	v, err := convert(f.typ, nodes)
	if err != nil {
		return nil, false, fmt.Errorf("%w: field %s: %v", ErrBadResponse, f.name, err)
	}
	return v, true, nil
}

func convert(typ string, nodes []any) (any, error) {
	first := nodes[0]
	switch typ {
	case TypeString:
		return scalarString(first)
	case TypeInt:
		return toInt(first)
	case TypeFloat:
		return toFloat(first)
	case TypeBool:
		return toBool(first)
	case TypeStrings:
		return toStrings(nodes)
	case TypeJoin:
		var parts []string
		for _, n := range nodes {
			s, err := scalarString(n)
			if err != nil {
				return nil, err
			}
			if s = strings.TrimSpace(s); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, " "), nil
	}
	// auto, json
	if len(nodes) == 1 {
		return normalize(first), nil
	}
	out := make([]any, len(nodes))
	for i, n := range nodes {
		out[i] = normalize(n)
	}
	return out, nil
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func scalarString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("want a string, got %s", kind(v))
}

func toInt(v any) (int64, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, fmt.Errorf("want an integer, got %s", kind(v))
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
		return int64(f), nil
	}
	return 0, fmt.Errorf("want an integer, got a %s that is not one", kind(v))
}

func toFloat(v any) (float64, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, fmt.Errorf("want a number, got %s", kind(v))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("want a number, got a %s that is not one", kind(v))
	}
	return f, nil
}

func toBool(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("want a boolean, got %s", kind(v))
}

// toStrings flattens the nodes: arrays element by element, strings split on ";" and
// "," (multi-select picklists), numbers and booleans as text; empty items dropped.
func toStrings(nodes []any) ([]string, error) {
	out := []string{}
	var add func(v any, nested bool) error
	add = func(v any, nested bool) error {
		switch v := v.(type) {
		case nil:
		case string:
			for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		case []any:
			if nested {
				return fmt.Errorf("want strings, got nested arrays")
			}
			for _, e := range v {
				if err := add(e, true); err != nil {
					return err
				}
			}
		case json.Number, bool:
			s, _ := scalarString(v)
			out = append(out, s)
		default:
			return fmt.Errorf("want strings, got %s", kind(v))
		}
		return nil
	}
	for _, n := range nodes {
		if err := add(n, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// normalize turns json.Number into int64 (or float64) throughout v.
func normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}
