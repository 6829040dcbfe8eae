package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"

	qc "github.com/qdrant/go-client/qdrant"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/kb/qdrant"
	"github.com/switchboard-cs/switchboard/models/ort"
	"github.com/switchboard-cs/switchboard/nlp/embed"
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
	Encoder   *embed.Encoder // nil: lexical retrieval only
}

// Close releases the encoder.
func (k knowledge) Close() {
	if k.Encoder != nil {
		k.Encoder.Close()
	}
}

// ingestOptions are the kb.Ingest options that match the retriever.
func (k knowledge) ingestOptions() []kb.IngestOption {
	if k.Encoder == nil {
		return nil
	}
	return []kb.IngestOption{kb.WithIngestDense(k.Encoder)}
}

// openKB opens the knowledge base of cfg: the dense encoder when kb.encoder_model is set
// (ONNX Runtime from models.onnxruntime_lib or the default search), and Qdrant when
// kb.qdrant_addr is set, else the embedded index under kb.dir.
func openKB(ctx context.Context, cfg config.Config) (knowledge, error) {
	var k knowledge
	if cfg.KB.EncoderModel != "" {
		if _, err := ort.Init(cfg.Models.ONNXRuntimeLib); err != nil {
			return k, fmt.Errorf("kb.encoder_model needs ONNX Runtime: %w", err)
		}
		enc, err := embed.Open(ctx, embed.Config{Model: cfg.KB.EncoderModel, Tokenizer: cfg.KB.EncoderTokenizer,
			MaxTokens: cfg.KB.EncoderMaxTokens, Pooling: cfg.KB.EncoderPooling})
		if err != nil {
			return k, fmt.Errorf("kb.encoder_model: %w", err)
		}
		k.Encoder = enc
	}
	if addr := cfg.KB.QdrantAddr; addr != "" {
		host, portStr, err := net.SplitHostPort(addr)
		port, perr := strconv.Atoi(portStr)
		if err != nil || perr != nil {
			k.Close()
			return knowledge{}, fmt.Errorf("kb.qdrant_addr %q: want host:port", addr)
		}
		client, err := qc.NewClient(&qc.Config{Host: host, Port: port, APIKey: cfg.KB.QdrantAPIKey})
		if err != nil {
			k.Close()
			return knowledge{}, fmt.Errorf("qdrant %s: %w", addr, err)
		}
		opts := qdrant.Options{}
		if k.Encoder != nil {
			opts.DenseSize = uint64(k.Encoder.Dim())
		}
		if k.Index, err = qdrant.New(ctx, client, cfg.KB.QdrantCollection, opts); err != nil {
			k.Close()
			return knowledge{}, err
		}
	} else {
		emb, err := kb.NewEmbedded(cfg.KBDir())
		if err != nil {
			k.Close()
			return knowledge{}, fmt.Errorf("knowledge base %s: %w", cfg.KBDir(), err)
		}
		k.Index = emb
	}
	var ropts []kb.RetrieverOption
	if k.Encoder != nil {
		ropts = append(ropts, kb.WithDenseEncoder(k.Encoder))
	}
	k.Retriever = kb.NewRetriever(k.Index, kb.NewLexicalEmbedder(), ropts...)
	return k, nil
}

func kbIngestCmd(f *rootFlags) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "ingest PATH",
		Short: "Ingest FAQ (CSV/JSON), Markdown, HTML and text files; re-ingesting is incremental",
		Long: `Ingests a file or a folder into the knowledge base (kb.dir, default <data_dir>/kb).
FAQ files are CSV with question and answer columns, or a JSON array of
{"question", "answer"}; prose is split into ~500-character chunks. Chunks whose
content did not change are skipped; chunks of changed or removed documents are
replaced or deleted. A running server picks the changes up on restart.`,
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
			idx := k.Index
			var bar *progressbar.ProgressBar
			progress := func(done, total int) {
				if quiet {
					return
				}
				if bar == nil {
					bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
						progressbar.OptionSetDescription("ingesting"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
				}
				_ = bar.Set(done)
			}
			st, err := kb.Ingest(cmd.Context(), idx, kb.NewLexicalEmbedder(), args[0], progress, k.ingestOptions()...)
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return err
			}
			out := map[string]any{"files": st.Files, "added": st.Added, "updated": st.Updated, "unchanged": st.Unchanged, "deleted": st.Deleted}
			if e, ok := idx.(*kb.Embedded); ok {
				out["chunks"] = e.Len()
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return cmd
}
