package kb

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// benchSentences reads customer questions from the shared data directory: corpus
// sentences from training splits and second pair members, query sentences from test
// splits. name lists the data sets found.
func benchSentences(dataDir string) (corpus, queries []string, name string) {
	if dataDir == "" {
		return nil, nil, ""
	}
	var found []string
	add := func(set string, c, q []string) {
		if len(c) > 0 && len(q) > 0 {
			corpus, queries, found = append(corpus, c...), append(queries, q...), append(found, set)
		}
	}
	add("banking77", csvColumn(filepath.Join(dataDir, "banking77", "train.csv"), 0, ','),
		csvColumn(filepath.Join(dataDir, "banking77", "test.csv"), 0, ','))
	c, q := clincSentences(filepath.Join(dataDir, "clinc150", "data_full.json"))
	add("clinc150", c, q)
	add("lcqmc", csvColumn(filepath.Join(dataDir, "lcqmc", "dev.txt"), 1, '\t'),
		csvColumn(filepath.Join(dataDir, "lcqmc", "test.txt"), 0, '\t'))
	add("bq_corpus", csvColumn(filepath.Join(dataDir, "bq_corpus", "dev.csv"), 1, ','),
		csvColumn(filepath.Join(dataDir, "bq_corpus", "test.csv"), 0, ','))
	// Interleave queries so every prefix of the list mixes languages and data sets.
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(queries), func(i, j int) { queries[i], queries[j] = queries[j], queries[i] })
	return corpus, queries, strings.Join(found, "+")
}

// csvColumn returns column col of every row after the header, or nil on any error.
func csvColumn(path string, col int, sep rune) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.Comma, r.FieldsPerRecord, r.LazyQuotes = sep, -1, true
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		return nil
	}
	var out []string
	for _, row := range rows[1:] {
		if col < len(row) && strings.TrimSpace(row[col]) != "" {
			out = append(out, row[col])
		}
	}
	return out
}

func clincSentences(path string) (corpus, queries []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	var d map[string][][2]string
	if json.Unmarshal(data, &d) != nil {
		return nil, nil
	}
	for _, e := range d["train"] {
		corpus = append(corpus, e[0])
	}
	for _, e := range d["test"] {
		queries = append(queries, e[0])
	}
	return corpus, queries
}

// generatedSentences builds 20,000 sentences of 5–15 words drawn with a Zipf law from a
// 30,000-word synthetic vocabulary, for when no shared data is available.
func generatedSentences() []string {
	rng := rand.New(rand.NewPCG(5, 6))
	zipf := rand.NewZipf(rng, 1.1, 2, 29_999)
	const letters = "abcdefghijklmnopqrstuvwxyz"
	words := make([]string, 30_000)
	for i := range words {
		var b strings.Builder
		for range 3 + rng.IntN(6) {
			b.WriteByte(letters[rng.IntN(len(letters))])
		}
		words[i] = b.String()
	}
	out := make([]string, 20_000)
	for i := range out {
		n := 5 + rng.IntN(11)
		parts := make([]string, n)
		for j := range parts {
			parts[j] = words[zipf.Uint64()]
		}
		out[i] = strings.Join(parts, " ")
	}
	return out
}
