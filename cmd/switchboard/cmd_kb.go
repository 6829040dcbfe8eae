package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
)

func kbCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "kb", Short: "Knowledge base: ingest documents, evaluate answers"}
	cmd.AddCommand(kbIngestCmd(f), kbTrainCmd(f), kbEvalCmd(f))
	return cmd
}

// openKB opens the embedded knowledge index of cfg.
func openKB(cfg config.Config) (*kb.Embedded, *kb.Retriever, error) {
	idx, err := kb.NewEmbedded(cfg.KBDir())
	if err != nil {
		return nil, nil, fmt.Errorf("knowledge base %s: %w", cfg.KBDir(), err)
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
			idx, _, err := openKB(cfg)
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
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"files": st.Files, "added": st.Added,
				"updated": st.Updated, "unchanged": st.Unchanged, "deleted": st.Deleted, "chunks": idx.Len()})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return cmd
}
