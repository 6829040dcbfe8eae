package ner

// table is the feature index as an open-addressing hash table: the features are already
// hashes, so a key's low bits are its slot, and a lookup is a probe or two along one
// array — faster than a map for the twenty lookups each token costs.
type table struct {
	keys []uint64 // 0: empty (a feature hashing to 0 is stored as 1)
	rows []int32
	mask uint64
}

// newTable builds the table of index at a load of at most one half.
func newTable(index map[uint64]int32) table {
	size := 16
	for size < 2*len(index) {
		size *= 2
	}
	t := table{keys: make([]uint64, size), rows: make([]int32, size), mask: uint64(size - 1)}
	for k, row := range index {
		k = nonzero(k)
		i := k & t.mask
		for t.keys[i] != 0 {
			i = (i + 1) & t.mask
		}
		t.keys[i], t.rows[i] = k, row
	}
	return t
}

func nonzero(k uint64) uint64 {
	if k == 0 {
		return 1
	}
	return k
}

// row returns the weights row of feature k.
func (t *table) row(k uint64) (int32, bool) {
	if len(t.keys) == 0 {
		return 0, false
	}
	k = nonzero(k)
	for i := k & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case k:
			return t.rows[i], true
		case 0:
			return 0, false
		}
	}
}
