package para

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WordNetDir is where Debian's wordnet-base package puts the WordNet 3.0 database.
const WordNetDir = "/usr/share/wordnet"

// LoadWordNet reads the synsets of WordNet's data.noun, data.verb, data.adj and
// data.adv in dir as paraphrase groups: a synset's words (multi-word lemmas spelt with
// spaces) and its definition, the gloss up to its first example. Synsets whose only text
// would be one word without a definition are left out.
func LoadWordNet(dir string) ([]Group, error) {
	var out []Group
	for _, pos := range []string{"noun", "verb", "adj", "adv"} {
		path := filepath.Join(dir, "data."+pos)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("para: wordnet: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		line := 0
		for sc.Scan() {
			line++
			text := sc.Text()
			if strings.HasPrefix(text, "  ") { // the licence header
				continue
			}
			g, err := parseSynset(text)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("para: wordnet: %s:%d: %w", path, line, err)
			}
			if len(g.Texts) >= 2 {
				out = append(out, g)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("para: wordnet: %s: %w", path, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("para: wordnet: %s: %w", dir, ErrNoData)
	}
	return out, nil
}

// parseSynset reads one line of a WordNet data file:
// offset lex_filenum ss_type w_cnt(hex) (word lex_id)… p_cnt … | gloss
func parseSynset(line string) (Group, error) {
	head, gloss, _ := strings.Cut(line, " | ")
	fields := strings.Fields(head)
	if len(fields) < 4 {
		return Group{}, fmt.Errorf("synset line too short")
	}
	n, err := strconv.ParseUint(fields[3], 16, 16)
	if err != nil || len(fields) < 4+2*int(n) {
		return Group{}, fmt.Errorf("synset word count %q", fields[3])
	}
	var g Group
	for i := range int(n) {
		w := fields[4+2*i]
		if j := strings.IndexByte(w, '('); j > 0 { // adjective markers: "galore(ip)"
			w = w[:j]
		}
		g.Texts = append(g.Texts, strings.ReplaceAll(w, "_", " "))
	}
	def := gloss
	if i := strings.IndexByte(def, '"'); i >= 0 {
		def = def[:i]
	}
	def = strings.TrimRight(strings.TrimSpace(def), "; ")
	if def != "" {
		g.Texts = append(g.Texts, def)
	}
	return g, nil
}
