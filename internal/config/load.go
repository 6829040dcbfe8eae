package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrInvalid is wrapped by every error about a bad configuration value: an unknown or
// mistyped YAML key, an unparsable environment variable, or a failed validation.
var ErrInvalid = errors.New("invalid configuration")

// Load builds the configuration: [Default], then the YAML file at path (skipped when path
// is ""), then the SWITCHBOARD_* variables found in environ (entries of the form
// "KEY=value", as from os.Environ), and finally validates the result.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: read %s: %w", path, err)
		}
		if err := decodeYAML(data, &cfg); err != nil {
			return Config{}, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return Config{}, fmt.Errorf("%w: environment: %w", ErrInvalid, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// decodeYAML decodes one YAML document over cfg, rejecting unknown keys by name and line.
func decodeYAML(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: defaults only
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("line %d: only one YAML document is allowed", extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: the top level must be a mapping of keys such as data_dir and http", root.Line)
	}
	if err := checkKeys(root, reflect.TypeOf(Config{}), ""); err != nil {
		return err
	}
	return root.Decode(cfg)
}

// checkKeys reports every mapping key under n that has no field in struct type t.
func checkKeys(n *yaml.Node, t reflect.Type, prefix string) error {
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		field, ok := fieldByYAMLKey(t, key.Value)
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: unknown key %q (known keys%s: %s)",
				key.Line, prefix+key.Value, inSection(prefix), strings.Join(yamlKeys(t), ", ")))
			continue
		}
		if field.Type.Kind() == reflect.Struct && val.Kind == yaml.MappingNode {
			errs = append(errs, checkKeys(val, field.Type, prefix+key.Value+"."))
		}
	}
	return errors.Join(errs...)
}

func inSection(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " in " + strings.TrimSuffix(prefix, ".")
}

func fieldByYAMLKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); yamlName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlKeys(t reflect.Type) []string {
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, yamlName(t.Field(i)))
	}
	sort.Strings(keys)
	return keys
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// leaf is one configurable value: its dotted YAML key, its environment variable and the
// settable field behind both.
type leaf struct {
	Key   string
	Env   string
	Value reflect.Value
}

// leaves lists every configurable value of cfg in declaration order.
func leaves(cfg *Config) []leaf {
	var out []leaf
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			key := prefix + yamlName(f)
			if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
				walk(v.Field(i), key+".")
				continue
			}
			out = append(out, leaf{Key: key, Env: f.Tag.Get("env"), Value: v.Field(i)})
		}
	}
	walk(reflect.ValueOf(cfg).Elem(), "")
	return out
}

// applyEnv sets every leaf whose variable is present in environ. A variable set to the
// empty string clears a string or list; for numbers and durations it is an error.
func applyEnv(cfg *Config, environ []string) error {
	env := environMap(environ)
	var errs []error
	for _, l := range leaves(cfg) {
		raw, ok := env[l.Env]
		if !ok {
			continue
		}
		if err := setFromString(l.Value, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", l.Env, l.Key, err))
		}
	}
	return errors.Join(errs...)
}

// environMap turns "KEY=value" entries into a map; like the process environment, the
// first entry for a key wins.
func environMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, seen := m[k]; !seen {
			m[k] = v
		}
	}
	return m
}
