// Package kb is the knowledge base behind the retrieve and respond stages of the message
// flow: after the understand stage, the pipeline turns the redacted customer text into a
// query, kb retrieves the top passages (hybrid: sparse lexical plus optional dense
// vectors, fused by Reciprocal Rank Fusion) and composes an answer with citations and a
// confidence that the escalate stage thresholds.
//
// The package owns documents and their ingestion (FAQ CSV/JSON, Markdown, HTML, plain
// text; prose is chunked with langchaingo's recursive character splitter, aware of
// Chinese punctuation), the built-in LexicalEmbedder (BM25-style sparse vectors over words
// and CJK character unigrams and bigrams, no model needed), the Index contract and its
// embedded implementation persisted on disk (NewEmbedded), the Retriever that answers,
// and BenchRetrieval. A Qdrant implementation of Index plugs in behind the same contract:
// document vectors carry term-frequency weights and the index applies IDF at search
// time, exactly as Qdrant's sparse vectors with Modifier IDF do, so both backends rank
// alike. kb never calls the ticket core; escalation is the pipeline's decision.
package kb
