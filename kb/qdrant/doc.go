// Package qdrant is the Qdrant backend of the knowledge base behind the retrieve stage of
// the message flow: it implements kb.Index and kb.Hasher over a Qdrant collection reached
// with the official go-client over gRPC.
//
// The collection holds, per chunk, a named sparse vector ("sparse") whose configuration
// carries Modifier IDF, so that Qdrant applies the BM25 inverse document frequency at
// query time exactly as the embedded index does, and optionally a named dense vector
// ("dense", cosine distance). Point ids are UUIDv5 of the chunk id; the payload holds the
// chunk fields, its content hash and its Meta map (under "meta"), which query filters
// match with keyword conditions on "meta.<key>". Hybrid queries use the Query API: one
// sparse and one dense prefetch of max(4·limit, 50) candidates fused by Reciprocal Rank
// Fusion with the same constant as the embedded index, so both backends rank alike.
package qdrant
