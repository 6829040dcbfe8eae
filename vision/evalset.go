package vision

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/switchboard-cs/switchboard/models"
)

// maxEvalSetFile bounds an evaluation set's CSV.
const maxEvalSetFile = 16 << 20

// ManifestLabels reads the labels file a manifest names, through the manifest: confined
// to the version folder (see models.Manifest.Open).
func ManifestLabels(m *models.Manifest) ([]string, error) {
	data, err := m.ReadFile(m.Labels, maxLabelsFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLabels, err)
	}
	labels := ParseLabels(data)
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: %s has no labels", ErrLabels, m.Labels)
	}
	return labels, nil
}

// readEvalSet reads the manifest's evaluation set: rows of image (a path relative to the
// CSV, inside the version folder) and label, after an optional header.
func readEvalSet(m *models.Manifest) ([][]string, error) {
	f, err := m.Open(m.Eval.Set)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseEvalSet(io.LimitReader(f, maxEvalSetFile), m.Eval.Set)
}

// ParseEvalSet parses an evaluation set CSV (name is what errors call it): two columns,
// image and label, after an optional "image,label" header. An image path must be
// relative; it may not leave the version folder.
func ParseEvalSet(r io.Reader, name string) ([][]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	var rows [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", models.ErrInvalid, name, err)
		}
		if len(rows) == 0 && strings.EqualFold(rec[0], "image") {
			continue // header
		}
		if img := evalImage(name, rec[0]); !filepath.IsLocal(img) || filepath.IsAbs(rec[0]) {
			return nil, fmt.Errorf("%w: %s: image %q: an evaluation set may only list images inside "+
				"the version folder, relative to the set", models.ErrInvalid, name, rec[0])
		}
		rows = append(rows, rec)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: %s: no rows", models.ErrInvalid, name)
	}
	return rows, nil
}

// evalImage is an eval set row's image relative to the version folder.
func evalImage(set, image string) string {
	return filepath.Join(filepath.Dir(set), image)
}

// EvalFiles implements models.EvalFiler: the images m's evaluation set lists, so that a
// push copies them with the set.
func (e Evaluator) EvalFiles(m *models.Manifest) ([]string, error) {
	rows, err := readEvalSet(m)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, row := range rows {
		out[i] = evalImage(m.Eval.Set, row[0])
	}
	return out, nil
}
