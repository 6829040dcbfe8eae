package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/nlp/pii"
)

func redactCmd(f *rootFlags) *cobra.Command {
	var format, region string
	var fields []string
	cmd := &cobra.Command{
		Use:   "redact",
		Short: "Redact PII from UTF-8 text on stdin to stdout, line for line",
		Long: `Reads text, JSON Lines or CSV on stdin and writes it with PII replaced by typed
placeholders ([PHONE_1], [EMAIL_1], …), for logs and training-data desensitization.
With --format jsonl or csv, only the named --field values are redacted.`,
		Example: `  switchboard redact < chat.log > chat.redacted.log
  switchboard redact --format jsonl --field text < turns.jsonl
  switchboard redact --format csv --field question --field answer < faq.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			r, err := newRedactor(cfg)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if region != "" {
				reg, ok := pii.Region(region)
				if !ok {
					return fmt.Errorf("--region %q: not a region with phone numbers (want ISO 3166-1 alpha-2 such as HK or GB)", region)
				}
				ctx = pii.WithRegion(ctx, reg)
			}
			in, out := cmd.InOrStdin(), cmd.OutOrStdout()
			switch format {
			case "text":
				return redactLines(ctx, r, in, out)
			case "jsonl":
				return redactJSONL(ctx, r, in, out, fields)
			case "csv":
				return redactCSV(ctx, r, in, out, fields)
			}
			return fmt.Errorf("--format %q: want text, jsonl or csv", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "input format: text, jsonl or csv")
	cmd.Flags().StringSliceVar(&fields, "field", nil, "field (jsonl key or csv column) to redact; repeatable")
	cmd.Flags().StringVar(&region, "region", "", "the customers' region (ISO 3166-1 alpha-2): phone numbers without a country code are read in its notation first")
	return cmd
}

func newLineScanner(in io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	return sc
}

func redactLines(ctx context.Context, r *pii.Redactor, in io.Reader, out io.Writer) error {
	w := bufio.NewWriter(out)
	defer w.Flush()
	sc := newLineScanner(in)
	for sc.Scan() {
		res, err := r.Redact(ctx, sc.Text())
		if err != nil {
			return err
		}
		w.WriteString(res.Text)
		w.WriteByte('\n')
	}
	return sc.Err()
}

func redactJSONL(ctx context.Context, r *pii.Redactor, in io.Reader, out io.Writer, fields []string) error {
	if len(fields) == 0 {
		return errors.New("--format jsonl needs at least one --field")
	}
	w := bufio.NewWriter(out)
	defer w.Flush()
	sc := newLineScanner(in)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			w.WriteByte('\n')
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			return fmt.Errorf("line %d: not a JSON object: %w", n, err)
		}
		for _, f := range fields {
			var s string
			if raw, ok := obj[f]; !ok || json.Unmarshal(raw, &s) != nil {
				continue // absent or not a string: nothing to redact
			}
			res, err := r.Redact(ctx, s)
			if err != nil {
				return err
			}
			obj[f], _ = json.Marshal(res.Text)
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	return sc.Err()
}

func redactCSV(ctx context.Context, r *pii.Redactor, in io.Reader, out io.Writer, fields []string) error {
	if len(fields) == 0 {
		return errors.New("--format csv needs at least one --field")
	}
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	cw := csv.NewWriter(out)
	defer cw.Flush()
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("csv header: %w", err)
	}
	var cols []int
	for _, f := range fields {
		i := slices.Index(header, f)
		if i < 0 {
			return fmt.Errorf("csv has no column %q (columns: %v)", f, header)
		}
		cols = append(cols, i)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return cw.Error()
		}
		if err != nil {
			return err
		}
		for _, i := range cols {
			if i < len(rec) {
				res, err := r.Redact(ctx, rec[i])
				if err != nil {
					return err
				}
				rec[i] = res.Text
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
}
