package para

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/switchboard-cs/switchboard/internal/savefile"
)

// ErrFormat means a file is not a paraphrase model this version reads.
var ErrFormat = errors.New("para: not a paraphrase model file")

const magic = "SBPARA1\n"

// header is the JSON that follows the magic.
type header struct {
	Info      Info    `json:"info"`
	Rows      int     `json:"rows"`
	UnseenIDF float32 `json:"unseen_idf"`
}

// WriteTo writes the model: the magic, a length-prefixed JSON header, then one record
// per learned feature in slot order (hash, weight, scale, and the row as int8 multiples
// of scale), so the same model always writes the same bytes.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	h, err := json.Marshal(header{Info: m.Info, Rows: len(m.scale), UnseenIDF: m.unseenIDF})
	if err != nil {
		return 0, err
	}
	n := int64(len(magic) + 4 + len(h))
	bw.WriteString(magic)
	binary.Write(bw, binary.LittleEndian, uint32(len(h)))
	bw.Write(h)
	hashes := make([]uint64, len(m.scale))
	for f, s := range m.slot {
		hashes[s] = f
	}
	rec := make([]byte, 16+m.dim)
	for s, f := range hashes {
		binary.LittleEndian.PutUint64(rec[0:], f)
		binary.LittleEndian.PutUint32(rec[8:], math.Float32bits(m.idf[s]))
		binary.LittleEndian.PutUint32(rec[12:], math.Float32bits(m.scale[s]))
		for i, x := range m.q[s*m.dim : (s+1)*m.dim] {
			rec[16+i] = byte(x)
		}
		if _, err := bw.Write(rec); err != nil {
			return n, err
		}
		n += int64(len(rec))
	}
	return n, bw.Flush()
}

// Read reads a model written by WriteTo.
func Read(r io.Reader) (*Model, error) {
	br := bufio.NewReader(r)
	mg := make([]byte, len(magic))
	if _, err := io.ReadFull(br, mg); err != nil || string(mg) != magic {
		return nil, ErrFormat
	}
	var hl uint32
	if err := binary.Read(br, binary.LittleEndian, &hl); err != nil || hl > 1<<20 {
		return nil, fmt.Errorf("%w: header length", ErrFormat)
	}
	hb := make([]byte, hl)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	dim := h.Info.Dim
	if dim <= 0 || dim > 4096 || h.Rows < 0 || h.Rows > 1<<24 {
		return nil, fmt.Errorf("%w: dim %d, %d rows", ErrFormat, dim, h.Rows)
	}
	m := &Model{dim: dim, slot: make(map[uint64]int32, h.Rows), q: make([]int8, h.Rows*dim),
		scale: make([]float32, h.Rows), idf: make([]float32, h.Rows), unseenIDF: h.UnseenIDF, Info: h.Info}
	rec := make([]byte, 16+dim)
	for s := range h.Rows {
		if _, err := io.ReadFull(br, rec); err != nil {
			return nil, fmt.Errorf("%w: row %d of %d: %v", ErrFormat, s, h.Rows, err)
		}
		m.slot[binary.LittleEndian.Uint64(rec[0:])] = int32(s)
		m.idf[s] = math.Float32frombits(binary.LittleEndian.Uint32(rec[8:]))
		m.scale[s] = math.Float32frombits(binary.LittleEndian.Uint32(rec[12:]))
		for i, b := range rec[16:] {
			m.q[s*dim+i] = int8(b)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the last row", ErrFormat)
	}
	return m, nil
}

// Save writes the model to path atomically: a reader finds the old file or the new one.
func (m *Model) Save(path string) error {
	if err := savefile.Save(path, m); err != nil {
		return fmt.Errorf("para: save %s: %w", path, err)
	}
	return nil
}

// Load reads the model at path; its Fingerprint is the SHA-256 of the file.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	m, err := Read(io.TeeReader(f, h))
	if err != nil {
		return nil, fmt.Errorf("para: %s: %w", path, err)
	}
	m.fingerprint = "para:" + hex.EncodeToString(h.Sum(nil))[:16]
	return m, nil
}

// Fingerprint identifies the model's file: vectors of models with different
// fingerprints are not comparable.
func (m *Model) Fingerprint() string { return m.fingerprint }

// Close releases nothing; it lets the model stand where an encoder with resources does.
func (m *Model) Close() error { return nil }
