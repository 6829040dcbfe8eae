package qdrant

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"

	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

type fakePoints struct {
	qc.UnimplementedPointsServer
	s *fakeStore
}

func done() *qc.PointsOperationResponse {
	return &qc.PointsOperationResponse{Result: &qc.UpdateResult{Status: qc.UpdateStatus_Completed}}
}

func (f *fakePoints) Upsert(_ context.Context, req *qc.UpsertPoints) (*qc.PointsOperationResponse, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	col, err := f.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	parsed := make([]*fakePoint, 0, len(req.GetPoints()))
	for _, ps := range req.GetPoints() {
		p, err := col.parse(ps)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, p)
	}
	for _, p := range parsed {
		key, _ := idKey(p.id)
		col.points[key] = p
	}
	return done(), nil
}

// parse validates a point against the collection's vector configuration.
func (c *fakeCollection) parse(ps *qc.PointStruct) (*fakePoint, error) {
	if _, err := idKey(ps.GetId()); err != nil {
		return nil, err
	}
	if ps.GetVectors().GetVector() != nil {
		return nil, status.Error(codes.InvalidArgument, "collection has named vectors only")
	}
	p := &fakePoint{
		id:      proto.Clone(ps.GetId()).(*qc.PointId),
		payload: map[string]*qc.Value{},
		dense:   map[string][]float32{},
		sparse:  map[string]map[uint32]float32{},
	}
	for k, v := range ps.GetPayload() {
		p.payload[k] = proto.Clone(v).(*qc.Value)
	}
	for name, v := range ps.GetVectors().GetVectors().GetVectors() {
		switch {
		case v.GetDense() != nil:
			size, ok := c.dense[name]
			if !ok || uint64(len(v.GetDense().GetData())) != size {
				return nil, status.Errorf(codes.InvalidArgument, "wrong dense vector %q", name)
			}
			if u := unit(v.GetDense().GetData()); u != nil {
				p.dense[name] = u
			}
		case v.GetSparse() != nil:
			if _, ok := c.idf[name]; !ok {
				return nil, status.Errorf(codes.InvalidArgument, "no sparse vector %q", name)
			}
			sv, err := sparseMap(v.GetSparse())
			if err != nil {
				return nil, err
			}
			p.sparse[name] = sv
		default:
			return nil, status.Errorf(codes.Unimplemented, "fake: vector %q of an unsupported kind", name)
		}
	}
	return p, nil
}

func sparseMap(v *qc.SparseVector) (map[uint32]float32, error) {
	if len(v.GetIndices()) != len(v.GetValues()) {
		return nil, status.Error(codes.InvalidArgument, "sparse indices and values differ in length")
	}
	m := make(map[uint32]float32, len(v.GetIndices()))
	for i, t := range v.GetIndices() {
		if _, dup := m[t]; dup {
			return nil, status.Errorf(codes.InvalidArgument, "sparse index %d repeated", t)
		}
		m[t] = v.GetValues()[i]
	}
	return m, nil
}

func (f *fakePoints) Delete(_ context.Context, req *qc.DeletePoints) (*qc.PointsOperationResponse, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	col, err := f.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.GetPoints().GetFilter() != nil {
		return nil, status.Error(codes.Unimplemented, "fake: delete by filter")
	}
	for _, id := range req.GetPoints().GetPoints().GetIds() {
		key, err := idKey(id)
		if err != nil {
			return nil, err
		}
		delete(col.points, key)
	}
	return done(), nil
}

// Scroll pages through matching points in id order; Offset is the first id of the page.
func (f *fakePoints) Scroll(_ context.Context, req *qc.ScrollPoints) (*qc.ScrollResponse, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	col, err := f.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.OrderBy != nil || req.GetWithVectors().GetEnable() {
		return nil, status.Error(codes.Unimplemented, "fake: scroll order_by or with_vectors")
	}
	keys := make([]string, 0, len(col.points))
	for k, p := range col.points {
		ok, err := matches(p.payload, req.GetFilter())
		if err != nil {
			return nil, err
		}
		if ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if req.Offset != nil {
		from, err := idKey(req.GetOffset())
		if err != nil {
			return nil, err
		}
		keys = keys[sortSearch(keys, from):]
	}
	limit := int(cmp.Or(req.GetLimit(), 10))
	resp := &qc.ScrollResponse{}
	for i, k := range keys {
		if i == limit {
			resp.NextPageOffset = col.points[k].id
			break
		}
		p := col.points[k]
		resp.Result = append(resp.Result, &qc.RetrievedPoint{Id: p.id, Payload: selectPayload(p.payload, req.GetWithPayload())})
	}
	return resp, nil
}

func sortSearch(keys []string, from string) int {
	i, _ := slices.BinarySearch(keys, from)
	return i
}

// selectPayload applies a with_payload selector: everything, nothing, or listed keys.
func selectPayload(payload map[string]*qc.Value, sel *qc.WithPayloadSelector) map[string]*qc.Value {
	switch {
	case sel.GetEnable():
		return payload
	case sel.GetInclude() != nil:
		out := map[string]*qc.Value{}
		for _, k := range sel.GetInclude().GetFields() {
			if v, ok := payload[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	return nil
}

// matches evaluates a filter of "must" keyword matches on (dotted) payload paths.
func matches(payload map[string]*qc.Value, f *qc.Filter) (bool, error) {
	if f == nil {
		return true, nil
	}
	if len(f.GetShould()) > 0 || len(f.GetMustNot()) > 0 || f.MinShould != nil {
		return false, status.Error(codes.Unimplemented, "fake: only must conditions")
	}
	for _, c := range f.GetMust() {
		fc := c.GetField()
		kw, isKeyword := fc.GetMatch().GetMatchValue().(*qc.Match_Keyword)
		if fc == nil || !isKeyword {
			return false, status.Error(codes.Unimplemented, "fake: only keyword match conditions")
		}
		if v := lookup(payload, fc.GetKey()); v == nil || v.GetStringValue() != kw.Keyword {
			return false, nil
		}
	}
	return true, nil
}

// lookup follows a dotted key path through nested payload objects.
func lookup(payload map[string]*qc.Value, path string) *qc.Value {
	parts := strings.Split(path, ".")
	v := payload[parts[0]]
	for _, p := range parts[1:] {
		v = v.GetStructValue().GetFields()[p]
	}
	return v
}

// idfOf returns the BM25 IDF of each query term present in the sparse vector name, from
// the number of points carrying that vector and the term's document frequency, as
// Qdrant computes them at query time for Modifier IDF.
func (c *fakeCollection) idfOf(name string, terms []uint32) map[uint32]float64 {
	n, df := 0, map[uint32]int{}
	for _, p := range c.points {
		sv, ok := p.sparse[name]
		if !ok {
			continue
		}
		n++
		for _, t := range terms {
			if _, ok := sv[t]; ok {
				df[t]++
			}
		}
	}
	out := map[uint32]float64{}
	for t, d := range df {
		out[t] = math.Log(1 + (float64(n)-float64(d)+0.5)/(float64(d)+0.5))
	}
	return out
}
