package qdrant

import (
	"context"
	"math"
	"net"
	"sync"
	"testing"

	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeStore is the in-memory state of the fake Qdrant: collections of points with named
// dense (unit-normalised, cosine) and sparse vectors and a payload. It implements only
// what the backend uses and answers anything else it cannot honour with Unimplemented,
// so a request the fake would silently misread fails the test instead.
type fakeStore struct {
	mu   sync.Mutex
	cols map[string]*fakeCollection
	port int // where the fake listens
}

type fakeCollection struct {
	params   *qc.CollectionParams
	metadata map[string]*qc.Value
	dense    map[string]uint64 // vector name → dimension
	idf      map[string]bool   // sparse vector name → Modifier IDF
	points   map[string]*fakePoint
}

type fakePoint struct {
	id      *qc.PointId
	payload map[string]*qc.Value
	dense   map[string][]float32
	sparse  map[string]map[uint32]float32
}

// startFake serves a fresh fake Qdrant on a loopback port and returns a go-client
// connected to it. The version check is skipped: a test binary has no module version
// for the client to report.
func startFake(t *testing.T) (*qc.Client, *fakeStore) {
	t.Helper()
	store := &fakeStore{cols: map[string]*fakeCollection{}}
	srv := grpc.NewServer()
	qc.RegisterCollectionsServer(srv, &fakeCollections{s: store})
	qc.RegisterPointsServer(srv, &fakePoints{s: store})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	store.port = lis.Addr().(*net.TCPAddr).Port
	return dialFake(t, store), store
}

// dialFake returns a new client of the fake (another replica's connection).
func dialFake(t *testing.T, store *fakeStore) *qc.Client {
	t.Helper()
	client, err := qc.NewClient(&qc.Config{Host: "127.0.0.1", Port: store.port, KeepAliveTime: -1, SkipCompatibilityCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

type fakeCollections struct {
	qc.UnimplementedCollectionsServer
	s *fakeStore
}

func (f *fakeCollections) CollectionExists(_ context.Context, req *qc.CollectionExistsRequest) (*qc.CollectionExistsResponse, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	_, ok := f.s.cols[req.GetCollectionName()]
	return &qc.CollectionExistsResponse{Result: &qc.CollectionExists{Exists: ok}}, nil
}

func (f *fakeCollections) Create(_ context.Context, req *qc.CreateCollection) (*qc.CollectionOperationResponse, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	name := req.GetCollectionName()
	if _, ok := f.s.cols[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "collection %q already exists", name)
	}
	if req.GetVectorsConfig().GetParams() != nil {
		return nil, status.Error(codes.Unimplemented, "fake: only named vectors are supported")
	}
	col := &fakeCollection{dense: map[string]uint64{}, idf: map[string]bool{}, points: map[string]*fakePoint{}}
	for n, p := range req.GetVectorsConfig().GetParamsMap().GetMap() {
		if p.GetDistance() != qc.Distance_Cosine || p.GetSize() == 0 {
			return nil, status.Errorf(codes.Unimplemented, "fake: vector %q: only non-empty cosine vectors", n)
		}
		col.dense[n] = p.GetSize()
	}
	for n, p := range req.GetSparseVectorsConfig().GetMap() {
		col.idf[n] = p.GetModifier() == qc.Modifier_Idf
	}
	col.params = &qc.CollectionParams{
		VectorsConfig:       proto.Clone(req.GetVectorsConfig()).(*qc.VectorsConfig),
		SparseVectorsConfig: proto.Clone(req.GetSparseVectorsConfig()).(*qc.SparseVectorConfig),
	}
	f.s.cols[name] = col
	return &qc.CollectionOperationResponse{Result: true}, nil
}

func (f *fakeCollections) Get(_ context.Context, req *qc.GetCollectionInfoRequest) (*qc.GetCollectionInfoResponse, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	col, err := f.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	n := uint64(len(col.points))
	info := &qc.CollectionInfo{
		Status:      qc.CollectionStatus_Green,
		Config:      &qc.CollectionConfig{Params: proto.Clone(col.params).(*qc.CollectionParams), Metadata: cloneValues(col.metadata)},
		PointsCount: &n,
	}
	return &qc.GetCollectionInfoResponse{Result: info}, nil
}

// Update merges metadata into the collection's, as Qdrant (≥ 1.16) does; any other
// change is beyond the fake.
func (f *fakeCollections) Update(_ context.Context, req *qc.UpdateCollection) (*qc.CollectionOperationResponse, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	col, err := f.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	only := &qc.UpdateCollection{CollectionName: req.GetCollectionName(), Metadata: req.GetMetadata()}
	if !proto.Equal(only, req) {
		return nil, status.Error(codes.Unimplemented, "fake: only metadata updates are supported")
	}
	if col.metadata == nil {
		col.metadata = map[string]*qc.Value{}
	}
	for k, v := range req.GetMetadata() {
		col.metadata[k] = proto.Clone(v).(*qc.Value)
	}
	return &qc.CollectionOperationResponse{Result: true}, nil
}

func cloneValues(m map[string]*qc.Value) map[string]*qc.Value {
	out := make(map[string]*qc.Value, len(m))
	for k, v := range m {
		out[k] = proto.Clone(v).(*qc.Value)
	}
	return out
}

func (f *fakeCollections) Delete(_ context.Context, req *qc.DeleteCollection) (*qc.CollectionOperationResponse, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	_, ok := f.s.cols[req.GetCollectionName()]
	delete(f.s.cols, req.GetCollectionName())
	return &qc.CollectionOperationResponse{Result: ok}, nil
}

// collection returns the named collection; the caller holds s.mu.
func (s *fakeStore) collection(name string) (*fakeCollection, error) {
	col, ok := s.cols[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "collection %q not found", name)
	}
	return col, nil
}

// idKey is the map key of a point id, rejecting ids Qdrant rejects.
func idKey(id *qc.PointId) (string, error) {
	switch v := id.GetPointIdOptions().(type) {
	case *qc.PointId_Uuid:
		if !isUUID(v.Uuid) {
			return "", status.Errorf(codes.InvalidArgument, "point id %q is not a UUID", v.Uuid)
		}
		return v.Uuid, nil
	case *qc.PointId_Num:
		return "", status.Error(codes.Unimplemented, "fake: numeric point ids")
	}
	return "", status.Error(codes.InvalidArgument, "missing point id")
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		dash := i == 8 || i == 13 || i == 18 || i == 23
		hex := (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f')
		if dash != (r == '-') || (!dash && !hex) {
			return false
		}
	}
	return true
}

// unit returns v scaled to length 1, as Qdrant stores cosine vectors, or nil for a
// vector without a finite non-zero norm.
func unit(v []float32) []float32 {
	var sum float64
	for _, f := range v {
		sum += float64(f) * float64(f)
	}
	if sum == 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		return nil
	}
	inv := 1 / math.Sqrt(sum)
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = float32(float64(f) * inv)
	}
	return out
}
