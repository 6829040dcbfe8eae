package sentiment

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboard-cs/switchboard/nlp/lang"
)

// Errors of reading the training data.
var (
	// ErrNoData means a data set is not where it was looked for.
	ErrNoData = errors.New("sentiment: training data not found")
	// ErrBadData means a data file does not have the expected format.
	ErrBadData = errors.New("sentiment: unexpected data format")
)

// Example is one labelled text.
type Example struct {
	Text     string
	Negative bool
}

// Set is a named list of examples (one source data set).
type Set struct {
	Name     string
	Examples []Example
}

// Corpus is what [Train] learns from, per language: Sets are split into training and
// held-out parts by a hash of each text; OutOfDomain sets are only evaluated on.
type Corpus struct {
	Sets        map[lang.Lang][]Set
	OutOfDomain map[lang.Lang][]Set
}

// Languages returns the languages with training sets, in a fixed order (zh, en).
func (c Corpus) Languages() []lang.Lang {
	var out []lang.Lang
	for _, l := range []lang.Lang{lang.Chinese, lang.English} {
		if len(c.Sets[l]) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// Paths of the data sets inside the shared data folder and the English folder.
const (
	// ChineseDirName is the folder of the Chinese review sets in the shared data folder.
	ChineseDirName = "zh_reviews_chinesenlpcorpus"
	waimaiFile     = "waimai_10k.csv"
	shoppingZip    = "online_shopping_10_cats.zip"
	eprstmtFile    = "fewclue_eprstmt/test_public.json"
	eprstmtSetName = "fewclue_eprstmt test_public"
	// EnglishDirName is where scripts/fetch-sentiment-data.sh puts the English set, under
	// .deps/ of the checkout.
	EnglishDirName = "sentiment-en"
)

// englishSets are the files of the UCI Sentiment Labelled Sentences (Kotzias et al.,
// KDD 2015) as the npm package sentiment@5.0.2 ships them under test/fixtures/.
var englishSets = []string{"amazon", "imdb", "yelp"}

// ReadCorpus reads the Chinese review sets (waimai_10k and online_shopping_10_cats, from
// dataDir, the shared data folder; FewCLUE EPRSTMT's test_public as Chinese
// out-of-domain set) and the English sentences (amazon, imdb, yelp JSON from enDir, the
// folder scripts/fetch-sentiment-data.sh fills). An empty dataDir or enDir leaves that
// language out. A missing file is an error wrapping [ErrNoData].
func ReadCorpus(dataDir, enDir string) (Corpus, error) {
	c := Corpus{Sets: map[lang.Lang][]Set{}, OutOfDomain: map[lang.Lang][]Set{}}
	if dataDir != "" {
		waimai, err := readWaimai(filepath.Join(dataDir, ChineseDirName, waimaiFile))
		if err != nil {
			return c, err
		}
		shopping, err := readShopping(filepath.Join(dataDir, ChineseDirName, shoppingZip))
		if err != nil {
			return c, err
		}
		eprstmt, err := readEPRSTMT(filepath.Join(dataDir, filepath.FromSlash(eprstmtFile)))
		if err != nil {
			return c, err
		}
		c.Sets[lang.Chinese] = []Set{waimai, shopping}
		c.OutOfDomain[lang.Chinese] = []Set{eprstmt}
	}
	if enDir != "" {
		for _, name := range englishSets {
			s, err := readFixture(filepath.Join(enDir, name+".json"), name)
			if err != nil {
				return c, err
			}
			c.Sets[lang.English] = append(c.Sets[lang.English], s)
		}
	}
	return c, nil
}

// open opens path, naming a missing file as ErrNoData.
func open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoData, err)
	}
	return f, nil
}

// readWaimai reads waimai_10k.csv (header label,review; 1 positive, 0 negative).
func readWaimai(path string) (Set, error) {
	f, err := open(path)
	if err != nil {
		return Set{}, err
	}
	defer f.Close()
	exs, err := readLabelCSV(f, path, []string{"label", "review"})
	return Set{Name: "waimai_10k", Examples: exs}, err
}

// readShopping reads the one CSV inside online_shopping_10_cats.zip (header
// cat,label,review; UTF-8 with a byte-order mark).
func readShopping(path string) (Set, error) {
	if _, err := os.Stat(path); err != nil {
		return Set{}, fmt.Errorf("%w: %v", ErrNoData, err)
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		return Set{}, fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
	}
	defer z.Close()
	for _, zf := range z.File {
		if !strings.HasSuffix(zf.Name, ".csv") {
			continue
		}
		r, err := zf.Open()
		if err != nil {
			return Set{}, fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
		}
		defer r.Close()
		exs, err := readLabelCSV(r, path, []string{"cat", "label", "review"})
		return Set{Name: "online_shopping_10_cats", Examples: exs}, err
	}
	return Set{}, fmt.Errorf("%w: %s holds no .csv", ErrBadData, path)
}

// readLabelCSV reads a CSV with the header head whose last two columns are a 0/1 label
// (1 positive) and the text. Rows with an empty text are left out.
func readLabelCSV(r io.Reader, path string, head []string) ([]Example, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\ufeff")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = len(head)
	got, err := cr.Read()
	if err != nil || strings.Join(got, ",") != strings.Join(head, ",") {
		return nil, fmt.Errorf("%w: %s: header %v, want %v (%v)", ErrBadData, path, got, head, err)
	}
	n := len(head)
	var out []Example
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
		}
		label, text := rec[n-2], strings.TrimSpace(rec[n-1])
		if label != "0" && label != "1" {
			return nil, fmt.Errorf("%w: %s: label %q", ErrBadData, path, label)
		}
		if text != "" {
			out = append(out, Example{Text: text, Negative: label == "0"})
		}
	}
}

// readEPRSTMT reads FewCLUE EPRSTMT's JSON Lines ({"sentence", "label": Positive|Negative}).
func readEPRSTMT(path string) (Set, error) {
	f, err := open(path)
	if err != nil {
		return Set{}, err
	}
	defer f.Close()
	s := Set{Name: eprstmtSetName}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var rec struct{ Sentence, Label string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || (rec.Label != "Positive" && rec.Label != "Negative") {
			return Set{}, fmt.Errorf("%w: %s line %d: label %q (%v)", ErrBadData, path, line, rec.Label, err)
		}
		if t := strings.TrimSpace(rec.Sentence); t != "" {
			s.Examples = append(s.Examples, Example{Text: t, Negative: rec.Label == "Negative"})
		}
	}
	if err := sc.Err(); err != nil {
		return Set{}, fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
	}
	return s, nil
}

// readFixture reads one of the npm package's fixtures: a JSON array of {"text", "class"}
// with class 0 (negative) or 1 (positive); entries without text or class are left out.
func readFixture(path, name string) (Set, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Set{}, fmt.Errorf("%w: %v (run scripts/fetch-sentiment-data.sh)", ErrNoData, err)
	}
	var recs []struct {
		Text  string
		Class *int
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		return Set{}, fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
	}
	s := Set{Name: name}
	for i, r := range recs {
		t := strings.TrimSpace(r.Text)
		if t == "" || r.Class == nil {
			continue
		}
		if *r.Class != 0 && *r.Class != 1 {
			return Set{}, fmt.Errorf("%w: %s entry %d: class %d", ErrBadData, path, i, *r.Class)
		}
		s.Examples = append(s.Examples, Example{Text: t, Negative: *r.Class == 0})
	}
	return s, nil
}

// FindEnglishDir returns the folder scripts/fetch-sentiment-data.sh fills,
// .deps/sentiment-en, looked for in the working directory and its parents and beside the
// executable's folder (bin/../.deps); an error wrapping [ErrNoData] when none holds it.
func FindEnglishDir() (string, error) {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, ".deps", EnglishDirName))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(exe)), ".deps", EnglishDirName))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, englishSets[0]+".json")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: no .deps/%s above the working directory or beside the executable (run scripts/fetch-sentiment-data.sh)", ErrNoData, EnglishDirName)
}
