package pii

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The Chinese address parsing corpus (Li et al., NAACL 2019) holds one address query per
// block, one token (a character, or a run of digits or Latin letters) per line with a
// BIO tag of one of 21 labels. EvaluateChineseAddresses rebuilds each query by joining
// its tokens without separators — the file keeps no spaces — and maps the labels so:
//
//   - ADDRESS: a maximal run of address-element tokens (country, prov, city, district,
//     devzone, town, community, road, subroad, roadno, subroadno, poi, subpoi, houseno,
//     cellno, floorno, roomno). Redundant tokens (repeated parts, "----") and assist
//     tokens ("对面", "门口") between two element tokens stay inside the run; at its edges
//     they are left out. A person or otherinfo token ends the run. Most queries are one
//     address span.
//   - PERSON: each person span. The annotation guideline defines this label as "name of
//     a company or company representative", and in practice it holds shop, company and
//     department names ("链家地产", "客服部"), so our person-name detector is not
//     expected to find them; the figure is reported as measured.
//
// Matching is the rule of EvaluatePresidio: same type and overlapping byte ranges. Any
// other type the redactor reports is a false positive, since the gold data has none.

// zhAddrElements are the labels that make up an ADDRESS span.
var zhAddrElements = map[string]bool{
	"country": true, "prov": true, "city": true, "district": true, "devzone": true, "town": true,
	"community": true, "road": true, "subroad": true, "roadno": true, "subroadno": true, "poi": true,
	"subpoi": true, "houseno": true, "cellno": true, "floorno": true, "roomno": true,
}

// zhAddrBridges are labels kept inside an ADDRESS span when element tokens follow them.
var zhAddrBridges = map[string]bool{"redundant": true, "assist": true}

// zhAddrToken is one tagged token of a query.
type zhAddrToken struct {
	text, label string // label without the B-/I- prefix
	begin       bool   // the tag was B-
}

// zhAddrQuery is one query rebuilt as text with its gold spans.
type zhAddrQuery struct {
	text string
	gold []goldSpan
}

// EvaluateChineseAddresses redacts every query of dir/test.txt of the Chinese address
// parsing corpus with r and scores PERSON and ADDRESS spans (see the mapping above); both types
// are always present in the result.
func EvaluateChineseAddresses(ctx context.Context, r *Redactor, dir string) (map[string]Score, error) {
	queries, err := readZhAddrQueries(filepath.Join(dir, "test.txt"))
	if err != nil {
		return nil, err
	}
	var acc tally
	acc.get(TypePerson)
	acc.get(TypeAddress)
	for _, q := range queries {
		res, err := r.Redact(ctx, q.text)
		if err != nil {
			return nil, err
		}
		acc.add(q.gold, res.Spans)
	}
	return acc.scores(), nil
}

// readZhAddrQueries parses a CoNLL file of "<token> <tag>" lines with blank lines
// between queries.
func readZhAddrQueries(path string) ([]zhAddrQuery, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	defer f.Close()
	var out []zhAddrQuery
	var toks []zhAddrToken
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			if len(toks) > 0 {
				out = append(out, zhAddrQueryOf(toks))
				toks = toks[:0]
			}
			continue
		}
		tok, err := parseZhAddrLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %w", ErrBadData, path, n, err)
		}
		toks = append(toks, tok)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadData, path, err)
	}
	if len(toks) > 0 {
		out = append(out, zhAddrQueryOf(toks))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no queries in %s", ErrBadData, path)
	}
	return out, nil
}

// parseZhAddrLine reads "<token> B-<label>" or "<token> I-<label>".
func parseZhAddrLine(line string) (zhAddrToken, error) {
	fields := strings.Fields(line)
	if len(fields) != 2 {
		return zhAddrToken{}, fmt.Errorf("want token and tag, got %q", line)
	}
	tag := fields[1]
	label, begin := strings.CutPrefix(tag, "B-")
	if !begin {
		var ok bool
		if label, ok = strings.CutPrefix(tag, "I-"); !ok {
			return zhAddrToken{}, fmt.Errorf("tag %q is not B- or I-", tag)
		}
	}
	if label == "" {
		return zhAddrToken{}, fmt.Errorf("empty label in %q", line)
	}
	return zhAddrToken{text: fields[0], label: label, begin: begin}, nil
}

// zhAddrQueryOf joins the tokens and derives the ADDRESS and PERSON gold spans.
func zhAddrQueryOf(toks []zhAddrToken) zhAddrQuery {
	var b strings.Builder
	offs := make([]int, len(toks)+1) // offs[i] is the byte offset of token i
	for i, t := range toks {
		offs[i] = b.Len()
		b.WriteString(t.text)
	}
	offs[len(toks)] = b.Len()
	gold := zhAddrRuns(toks, offs)
	for i := 0; i < len(toks); i++ {
		if toks[i].label != "person" {
			continue
		}
		j := i + 1
		for j < len(toks) && toks[j].label == "person" && !toks[j].begin {
			j++
		}
		gold = append(gold, goldSpan{TypePerson, offs[i], offs[j]})
		i = j - 1
	}
	return zhAddrQuery{text: b.String(), gold: gold}
}

// zhAddrRuns returns the ADDRESS spans: runs of element tokens, bridged over redundant
// and assist tokens that lie between two element tokens.
func zhAddrRuns(toks []zhAddrToken, offs []int) []goldSpan {
	var out []goldSpan
	start, last := -1, -1 // first and last element token of the open run
	for i, t := range toks {
		switch {
		case zhAddrElements[t.label]:
			if start < 0 {
				start = i
			}
			last = i
		case zhAddrBridges[t.label]:
			// the run stays open; it ends at last unless another element follows
		default:
			if start >= 0 {
				out = append(out, goldSpan{TypeAddress, offs[start], offs[last+1]})
			}
			start, last = -1, -1
		}
	}
	if start >= 0 {
		out = append(out, goldSpan{TypeAddress, offs[start], offs[last+1]})
	}
	return out
}
