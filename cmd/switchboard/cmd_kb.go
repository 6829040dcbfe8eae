package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"strconv"
	"time"

	qc "github.com/qdrant/go-client/qdrant"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/kb/qdrant"
	"github.com/switchboard-cs/switchboard/models/ort"
	"github.com/switchboard-cs/switchboard/nlp/embed"
	"github.com/switchboard-cs/switchboard/nlp/match"
	"github.com/switchboard-cs/switchboard/nlp/para"
)

func kbCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "kb", Short: "Knowledge base: ingest documents, evaluate answers"}
	cmd.AddCommand(kbIngestCmd(f), kbTrainCmd(f), kbEvalCmd(f))
	return cmd
}

// knowledge is an opened knowledge base: its index, the retriever over it, and the dense
// encoder when kb.encoder_model is set.
type knowledge struct {
	Index     kb.Index
	Retriever *kb.Retriever
	Encoder   denseEncoder // nil: lexical retrieval only
}

// denseEncoder is the knowledge base's dense encoder: the ONNX sentence encoder of
// kb.encoder_model or the paraphrase encoder `kb train` wrote.
type denseEncoder interface {
	kb.DenseEncoder
	kb.BatchEncoder
	kb.Fingerprinter
	Dim() int
	Close() error
}

// Close releases the encoder.
func (k knowledge) Close() {
	if k.Encoder != nil {
		k.Encoder.Close()
	}
}

// ingestOptions are the kb.Ingest options that match the retriever.
func (k knowledge) ingestOptions() []kb.IngestOption { return ingestOptionsFor(k.Encoder) }

// ingestOptionsFor are the kb.Ingest options for the dense encoder enc (may be nil).
func ingestOptionsFor(enc denseEncoder) []kb.IngestOption {
	if enc == nil {
		return nil
	}
	return []kb.IngestOption{kb.WithIngestDense(enc)}
}

// openKB opens the knowledge base of cfg: the dense encoder when kb.encoder_model is set
// (ONNX Runtime from models.onnxruntime_lib or the default search), and Qdrant when
// kb.qdrant_addr is set, else the embedded index under kb.dir.
func openKB(ctx context.Context, cfg config.Config) (knowledge, error) {
	var k knowledge
	var err error
	if k.Encoder, err = openEncoder(ctx, cfg); err != nil {
		return k, err
	}
	if k.Index, err = openIndex(ctx, cfg, k.Encoder); err != nil {
		k.Close()
		return knowledge{}, err
	}
	rerank, err := openReranker(cfg, k.Encoder)
	if err != nil {
		k.Close()
		return knowledge{}, err
	}
	if k.Retriever, err = newRetriever(ctx, k.Index, k.Encoder, rerank, slog.New(slog.DiscardHandler)); err != nil {
		k.Close()
		return knowledge{}, err
	}
	return k, nil
}

// newRetriever is the retriever over idx, hybrid when there is a dense encoder. The
// paraphrase encoder over the embedded index is first adapted to the index's own FAQ
// (kb.Adapt: each entry's phrasings brought together, the entries apart; few-shot k=3
// BANKING77 best entry 0.446 -> 0.546, CLINC150 0.487 -> 0.612) and ranks on its own:
// fusing BM25 in measured worse (BANKING77 0.322 fused, 0.346 alone; CLINC150 0.321,
// 0.351). An ONNX encoder stays fused with BM25, unadapted.
//
// rerank (may be nil), the Chinese reranker, reorders the answers to Chinese questions
// under the paraphrase encoder's ranking.
func newRetriever(ctx context.Context, idx kb.Index, enc denseEncoder, rerank kb.Reranker, log *slog.Logger) (*kb.Retriever, error) {
	var ropts []kb.RetrieverOption
	if m, ok := enc.(*para.Model); ok {
		if rerank != nil {
			ropts = append(ropts, kb.WithReranker(rerank, "zh"))
		}
		start := time.Now()
		adapted, a, err := kb.Adapt(ctx, idx, func(ctx context.Context, entries [][]string) (kb.DenseEncoder, error) {
			return m.Adapt(ctx, entries)
		})
		if err != nil {
			return nil, err
		}
		if a.Encoder != nil {
			idx = adapted
			ropts = append(ropts, kb.WithDenseEncoder(a.Encoder))
			log.Debug("the paraphrase encoder is adapted to the knowledge base's FAQ", "entries", a.Entries,
				"took", time.Since(start).Round(time.Millisecond))
		} else {
			ropts = append(ropts, kb.WithDenseEncoder(enc))
		}
		ropts = append(ropts, kb.WithDenseRanking())
	} else if enc != nil {
		ropts = append(ropts, kb.WithDenseEncoder(enc))
	}
	return kb.NewRetriever(idx, kb.NewLexicalEmbedder(), ropts...), nil
}

// openEncoder opens the dense encoder: the ONNX sentence encoder of kb.encoder_model
// when set, else the paraphrase encoder at cfg.ParaphraseModel() when that file exists,
// else none (lexical retrieval only).
func openEncoder(ctx context.Context, cfg config.Config) (denseEncoder, error) {
	if cfg.KB.EncoderModel == "" {
		return openParaphrase(cfg)
	}
	if _, err := ort.Init(cfg.Models.ONNXRuntimeLib); err != nil {
		return nil, fmt.Errorf("kb.encoder_model needs ONNX Runtime: %w", err)
	}
	enc, err := embed.Open(ctx, embed.Config{Model: cfg.KB.EncoderModel, Tokenizer: cfg.KB.EncoderTokenizer,
		MaxTokens: cfg.KB.EncoderMaxTokens, Pooling: cfg.KB.EncoderPooling})
	if err != nil {
		return nil, fmt.Errorf("kb.encoder_model: %w", err)
	}
	return enc, nil
}

// openReranker loads the Chinese reranker `kb train` fitted beside the paraphrase
// encoder, when enc is that encoder and the file exists.
func openReranker(cfg config.Config, enc denseEncoder) (kb.Reranker, error) {
	path := cfg.RerankerModel()
	if _, ok := enc.(*para.Model); !ok || path == "" {
		return nil, nil
	}
	m, err := match.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("the Chinese reranker (run `switchboard kb train` again): %w", err)
	}
	return m, nil
}

// openParaphrase loads the paraphrase encoder when its file exists.
func openParaphrase(cfg config.Config) (denseEncoder, error) {
	path := cfg.ParaphraseModel()
	if path == "" {
		return nil, nil
	}
	m, err := para.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("kb.paraphrase_model: %w (train it again with `switchboard kb train`, or set it to off)", err)
	}
	return m, nil
}

// encoderName says which dense encoder cfg serves with.
func encoderName(cfg config.Config) string {
	if cfg.KB.EncoderModel != "" {
		return cfg.KB.EncoderModel
	}
	return cfg.ParaphraseModel()
}

// openIndex opens the index that ingest writes: the Qdrant collection when
// kb.qdrant_addr is set (with a dense vector of enc's size), else the embedded index
// under kb.dir loaded from disk.
func openIndex(ctx context.Context, cfg config.Config, enc denseEncoder) (kb.Index, error) {
	if cfg.KB.QdrantAddr == "" {
		emb, err := kb.NewEmbedded(cfg.KBDir())
		if err != nil {
			return nil, fmt.Errorf("knowledge base %s: %w", cfg.KBDir(), err)
		}
		return emb, nil
	}
	return openQdrant(ctx, cfg, enc)
}

// openQdrant opens the collection of kb.qdrant_collection.
func openQdrant(ctx context.Context, cfg config.Config, enc denseEncoder) (*qdrant.Index, error) {
	addr := cfg.KB.QdrantAddr
	host, portStr, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil {
		return nil, fmt.Errorf("kb.qdrant_addr %q: want host:port", addr)
	}
	client, err := qc.NewClient(&qc.Config{Host: host, Port: port, APIKey: cfg.KB.QdrantAPIKey})
	if err != nil {
		return nil, fmt.Errorf("qdrant %s: %w", addr, err)
	}
	opts := qdrant.Options{}
	if enc != nil {
		opts.DenseSize = uint64(enc.Dim())
	}
	return qdrant.New(ctx, client, cfg.KB.QdrantCollection, opts)
}

// reloadHelp is what `kb ingest` and `kb train` say about running servers.
const reloadHelp = `Running servers pick the change up within seconds, without a restart: a run
that changed something commits a new generation of the knowledge base (a manifest
beside the embedded index, or the Qdrant collection's metadata); every server sharing
the knowledge base loads it within kb.reload_interval (default 2s), at once when the
command can reach PostgreSQL (NOTIFY kb_changed), and keeps serving the old one if the
new one is broken. When a server runs on this data directory (or --server URL is given)
the command waits until that server serves the new generation and says so.`

func kbIngestCmd(f *rootFlags) *cobra.Command {
	var quiet bool
	var pub publishFlags
	cmd := &cobra.Command{
		Use:   "ingest PATH",
		Short: "Ingest FAQ (CSV/JSON), Markdown, HTML and text files; re-ingesting is incremental",
		Long: `Ingests a file or a folder into the knowledge base (kb.dir, default <data_dir>/kb).
FAQ files are CSV with question and answer columns, or a JSON array of
{"question", "answer"}; prose is split into ~500-character chunks. Chunks whose
content did not change are skipped; chunks of changed or removed documents are
replaced or deleted.

` + reloadHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			k, err := openKB(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer k.Close()
			var bar *progressbar.ProgressBar
			progress := func(done, total int) {
				if quiet {
					return
				}
				if bar == nil {
					bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
						progressbar.OptionSetDescription("ingesting"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
				}
				_ = bar.Set(done)
			}
			st, err := kb.Ingest(cmd.Context(), k.Index, kb.NewLexicalEmbedder(), args[0], progress, k.ingestOptions()...)
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return err
			}
			g, err := publish(cmd, cfg, k.Index, st.Changed(), pub)
			if err != nil {
				return err
			}
			out := map[string]any{"files": st.Files, "added": st.Added, "updated": st.Updated, "unchanged": st.Unchanged,
				"deleted": st.Deleted, "generation": g.N, "documents": g.Documents}
			if e, ok := k.Index.(*kb.Embedded); ok {
				out["chunks"] = e.Len()
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	pub.register(cmd)
	return cmd
}
