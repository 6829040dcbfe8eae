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
)

func kbCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "kb", Short: "Knowledge base: ingest documents, evaluate answers"}
	cmd.AddCommand(kbIngestCmd(f), kbTrainCmd(f), kbEvalCmd(f))
	return cmd
}

// openKB opens the knowledge index of cfg: Qdrant when kb.qdrant_addr is
// set, else the embedded index under kb.dir.
func openKB(ctx context.Context, cfg config.Config) (kb.Index, *kb.Retriever, error) {
	var idx kb.Index
	if addr := cfg.KB.QdrantAddr; addr != "" {
		host, portStr, err := net.SplitHostPort(addr)
		port, perr := strconv.Atoi(portStr)
		if err != nil || perr != nil {
			return nil, nil, fmt.Errorf("kb.qdrant_addr %q: want host:port", addr)
		}
		client, err := qc.NewClient(&qc.Config{Host: host, Port: port, APIKey: cfg.KB.QdrantAPIKey})
		if err != nil {
			return nil, nil, fmt.Errorf("qdrant %s: %w", addr, err)
		}
		if idx, err = qdrant.New(ctx, client, cfg.KB.QdrantCollection, qdrant.Options{}); err != nil {
			return nil, nil, err
		}
	} else {
		emb, err := kb.NewEmbedded(cfg.KBDir())
		if err != nil {
			return nil, nil, fmt.Errorf("knowledge base %s: %w", cfg.KBDir(), err)
		}
		idx = emb
	}
	return idx, kb.NewRetriever(idx, kb.NewLexicalEmbedder()), nil
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
			idx, _, err := openKB(cmd.Context(), cfg)
			if err != nil {
				return err
			}
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
			st, err := kb.Ingest(cmd.Context(), idx, kb.NewLexicalEmbedder(), args[0], progress)
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
