package connector

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Result is what one call found. Fields holds the mapped output fields that the
// answer had (absent or null ones are missing); Found is false with ErrNotFound.
// Answer is the rendered Operation.Answer, if any.
type Result struct {
	Found  bool
	Fields map[string]any
	Answer string
}

// String returns field name as text ("" when absent): strings as they are, numbers
// and booleans formatted, lists joined with ", ".
func (r Result) String(name string) string {
	switch v := r.Fields[name].(type) {
	case nil:
		return ""
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []string:
		return joinStrings(v)
	case []any:
		s := make([]string, len(v))
		for i, e := range v {
			s[i] = fmt.Sprint(e)
		}
		return joinStrings(s)
	default:
		return fmt.Sprint(v)
	}
}

// Strings returns field name as a list: a []string field as it is, a scalar as a
// one-element list, nil when absent.
func (r Result) Strings(name string) []string {
	switch v := r.Fields[name].(type) {
	case nil:
		return nil
	case []string:
		return slices.Clone(v)
	case []any:
		s := make([]string, len(v))
		for i, e := range v {
			s[i] = fmt.Sprint(e)
		}
		return s
	}
	return []string{r.String(name)}
}

func joinStrings(s []string) string { return strings.Join(s, ", ") }

// LogValue logs whether the record was found and the names of its fields, never
// their values (a customer's name, an order's contents).
func (r Result) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("found", r.Found), slog.Any("fields", slices.Sorted(maps.Keys(r.Fields))))
}

// clone copies the result so a cached one is never shared with a caller.
func (r Result) clone() Result {
	if r.Fields == nil {
		return r
	}
	f := maps.Clone(r.Fields)
	for k, v := range f {
		switch v := v.(type) {
		case []string:
			f[k] = slices.Clone(v)
		case []any:
			f[k] = slices.Clone(v)
		}
	}
	r.Fields = f
	return r
}
