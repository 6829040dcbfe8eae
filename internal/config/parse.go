package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var durationType = reflect.TypeOf(time.Duration(0))

// setFromString parses raw into v according to v's type: Go durations ("5m"),
// base-10 integers, floats, booleans, strings, and comma-separated string lists.
func setFromString(v reflect.Value, raw string) error {
	s := strings.TrimSpace(raw)
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a Go duration such as 30s, 5m or 12h, got %q", raw)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int32 || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("want an integer that fits in %s, got %q", v.Type(), raw)
		}
		v.SetInt(n)
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("want a number such as 0.25, got %q", raw)
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		v.Set(reflect.ValueOf(splitList(raw)))
	case v.Kind() == reflect.Map:
		if s == "" {
			v.Set(reflect.Zero(v.Type()))
			return nil
		}
		m := reflect.New(v.Type())
		if err := json.Unmarshal([]byte(s), m.Interface()); err != nil {
			return fmt.Errorf("want a JSON object such as {\"line\":{\"token\":\"…\"}}, got %q", raw)
		}
		v.Set(m.Elem())
	default:
		return fmt.Errorf("unsupported field type %s", v.Type())
	}
	return nil
}

// splitList splits a comma-separated list, trimming blanks and dropping empty items; an
// empty input gives a nil list.
func splitList(raw string) []string {
	var out []string
	for _, item := range strings.Split(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
