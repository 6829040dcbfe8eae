package ner

import "math"

// table is the feature index with each feature's weights beside its key, as an
// open-addressing hash table: the features are already hashes, so a key's low bits are
// its slot, and a lookup is a probe or two along one array whose cell holds the key and
// the weights together — one cache line for each of the twenty lookups a token costs,
// where a map, or keys, rows and weights in three arrays, cost three.
type table struct {
	// cells holds stride uint32 per slot: the key's high half (0: empty; a feature whose
	// high half is 0 is stored as 1), then one weight per tag as float32 bits. The low
	// bits are the slot; two features alike in both in a table of a few hundred thousand
	// are as rare as a collision of the 64-bit hash.
	cells  []uint32
	stride int
	mask   uint64
}

// newTable builds the table of index (feature → row of weights, nt per row) at a load of
// at most one half.
func newTable(index map[uint64]int32, weights []float32, nt int) table {
	size := 16
	for size < 2*len(index) {
		size *= 2
	}
	t := table{cells: make([]uint32, size*(1+nt)), stride: 1 + nt, mask: uint64(size - 1)}
	for k, row := range index {
		i := k & t.mask
		for t.cells[int(i)*t.stride] != 0 {
			i = (i + 1) & t.mask
		}
		c := t.cells[int(i)*t.stride : int(i+1)*t.stride]
		c[0] = high(k)
		for j, w := range weights[int(row)*nt : int(row+1)*nt] {
			c[1+j] = math.Float32bits(w)
		}
	}
	return t
}

// high is the key of feature k in its slot.
func high(k uint64) uint32 {
	if h := uint32(k >> 32); h != 0 {
		return h
	}
	return 1
}

// add adds the weights of feature k, when the table holds it, to out (one per tag).
func (t *table) add(k uint64, out []float32) { t.addAll([]uint64{k}, out) }

// addAll is add of each of feats, in one loop: a token has some twenty features, and a
// call for each cost a tenth of the tagger's time.
func (t *table) addAll(feats []uint64, out []float32) {
	cells, mask, stride := t.cells, t.mask, uint64(t.stride)
	if len(cells) == 0 || len(out) != t.stride-1 {
		return
	}
	for _, k := range feats {
		h := high(k)
		for i := k & mask; ; i = (i + 1) & mask {
			c := cells[i*stride : (i+1)*stride]
			if c[0] == h {
				for j, w := range c[1:] {
					out[j] += math.Float32frombits(w)
				}
				break
			}
			if c[0] == 0 {
				break
			}
		}
	}
}
