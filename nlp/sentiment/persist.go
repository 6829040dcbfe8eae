package sentiment

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/switchboard-cs/switchboard/internal/savefile"
	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/lang"
)

// ErrBadModel means a file is not a sentiment model of this version, or is damaged.
var ErrBadModel = errors.New("sentiment: not a sentiment model of this version")

// magic starts every model file; the version after it changes with the layout.
const magic = "SBSENT01"

// file is a model as stored: each language's classifier in nlp/intent's own format.
type file struct {
	Info        Info
	Classifiers []savedClassifier
}

// savedClassifier is one language's classifier as intent.Classifier.Save wrote it.
type savedClassifier struct {
	Lang        lang.Lang
	Temperature float64
	Model       []byte
}

// WriteTo writes the model in the form [Load] reads.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	f := file{Info: m.info}
	for _, l := range m.Languages() {
		var buf bytes.Buffer
		s := m.langs[l]
		if err := s.c.Save(&buf); err != nil {
			return 0, fmt.Errorf("sentiment: save %s: %w", l, err)
		}
		f.Classifiers = append(f.Classifiers, savedClassifier{Lang: l, Temperature: s.temp, Model: buf.Bytes()})
	}
	return savefile.WriteGob(w, magic, f)
}

// Save writes the model to w in the form [Load] reads.
func (m *Model) Save(w io.Writer) error {
	_, err := m.WriteTo(w)
	return err
}

// SaveFile writes the model to path atomically (a reader never sees half a file).
func (m *Model) SaveFile(path string) error {
	return savefile.Save(path, m)
}

// Load reads a model [Model.Save] wrote. A file of another format or version, or a
// damaged one, is an error wrapping [ErrBadModel].
func Load(r io.Reader) (*Model, error) {
	var f file
	if err := savefile.ReadGob(r, magic, &f); err != nil {
		if errors.Is(err, savefile.ErrMagic) {
			return nil, fmt.Errorf("%w: the file does not start with %q", ErrBadModel, magic)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	if len(f.Classifiers) == 0 {
		return nil, fmt.Errorf("%w: no language", ErrBadModel)
	}
	m := &Model{langs: make(map[lang.Lang]*scorer, len(f.Classifiers)), info: f.Info}
	for _, sc := range f.Classifiers {
		l := sc.Lang
		if l != lang.Chinese && l != lang.English || m.langs[l] != nil {
			return nil, fmt.Errorf("%w: unknown or repeated language %q", ErrBadModel, l)
		}
		c, err := intent.Load(bytes.NewReader(sc.Model))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadModel, l, err)
		}
		if got := c.Labels(); len(got) != 2 || got[0] != labelNegative || got[1] != labelPositive {
			return nil, fmt.Errorf("%w: %s classifier has labels %v", ErrBadModel, l, got)
		}
		if !(sc.Temperature >= minTemp && sc.Temperature <= maxTemp) {
			return nil, fmt.Errorf("%w: %s temperature %g", ErrBadModel, l, sc.Temperature)
		}
		m.langs[l] = &scorer{c: c, temp: sc.Temperature}
	}
	return m, nil
}

// LoadFile reads the model at path; errors name the path.
func LoadFile(path string) (*Model, error) {
	return savefile.Load(path, Load)
}
