package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/ort"
)

// openModels opens the model repository of cfg. ONNX Runtime is loaded from
// models.onnxruntime_lib (or the default search) when there is anything to load.
func openModels(ctx context.Context, cfg config.Config, reg prometheus.Registerer, log *slog.Logger) (*models.Registry, error) {
	if _, err := ort.Init(cfg.Models.ONNXRuntimeLib); err != nil && log != nil {
		log.Warn("ONNX Runtime not loaded; models cannot serve", "err", err)
	}
	return models.Open(ctx, models.Options{
		Dir: cfg.ModelsDir(), Logger: log, Registerer: reg,
		Session:     sessionOptions(cfg),
		Concurrency: cfg.Models.Concurrency,
		Evaluators:  evaluators(cfg),
	})
}

// sessionOptions are the ONNX Runtime session settings of cfg.
func sessionOptions(cfg config.Config) ort.Options {
	o := ort.Options{IntraOpThreads: cfg.Models.IntraOpThreads, InterOpThreads: cfg.Models.InterOpThreads}
	if !cfg.Models.Spin {
		o.Config = map[string]string{"session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0"}
	}
	return o
}

func modelsCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Model repository: list, push, validate, activate, canary, shadow, rollback",
		Long: `Manages the ONNX model repository (models.dir, default <data_dir>/models). Changes are
written to <name>/state.json and announced through PostgreSQL (NOTIFY models_changed):
running servers sharing the repository apply them at once, or within models.watch_interval
when the announcement cannot reach them.
The same operations are served over REST to the ml-engineer role (/v1/models…).`,
	}
	// run opens the registry, runs op and prints the model's status; a change (announce)
	// is announced to the servers sharing the repository (NOTIFY models_changed).
	run := func(cmd *cobra.Command, name string, announce bool, op func(ctx context.Context, r *models.Registry) (any, error)) error {
		cfg, err := f.load()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		r, err := openModels(ctx, cfg, nil, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
		if err != nil {
			return err
		}
		defer r.Close()
		extra, err := op(ctx, r)
		if err != nil {
			return err
		}
		if announce {
			rec, _ := readServeRecord(cfg)
			notifyModelsChanged(ctx, notifyDSN(ctx, cfg, rec), name, cmd.ErrOrStderr())
		}
		out := map[string]any{}
		if extra != nil {
			out["result"] = extra
		}
		for _, m := range r.List() {
			if m.Name == name {
				out["model"] = m
			}
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	var asJSON bool
	list := &cobra.Command{
		Use: "list", Short: "Models, versions, what serves and why a version was refused", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			r, err := openModels(cmd.Context(), cfg, nil, nil)
			if err != nil {
				return err
			}
			defer r.Close()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(r.List())
			}
			printModels(cmd.OutOrStdout(), r.List())
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list,
		&cobra.Command{
			Use: "push NAME MODEL.onnx MANIFEST.yaml", Short: "Add a new version (labels and eval files the manifest names are copied too)",
			Long: `Adds a new version of NAME. The labels file and the evaluation set the manifest names
(and the images the set lists) are copied from the manifest's folder; they must lie inside
it (relative paths without ".."). The push is audited (model.push with the model file's
SHA-256) in the database before the version appears, so the database must be reachable.`,
			Args: cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, a []string) error {
				return withData(cmd, f, func(d *app) error {
					if err := d.openTickets(cmd.Context()); err != nil {
						return err
					}
					audit := func(ctx context.Context, p models.Pushed) error {
						return d.store.AppendAudit(ctx, nil, "cli", "model.push", "model:"+p.Model, p)
					}
					return run(cmd, a[0], true, func(ctx context.Context, r *models.Registry) (any, error) {
						p, err := r.Push(ctx, a[0], a[1], a[2], audit)
						if err != nil {
							return nil, err
						}
						if err := r.Refresh(ctx); err != nil {
							return nil, err
						}
						return map[string]string{"pushed": p.Version, "sha256": p.SHA256}, nil
					})
				})
			},
		},
		&cobra.Command{
			Use: "validate NAME VERSION", Short: "Load, check and evaluate a version without serving it", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, a []string) error {
				return run(cmd, a[0], false, func(ctx context.Context, r *models.Registry) (any, error) {
					res, err := r.Validate(ctx, a[0], a[1])
					return map[string]any{"valid": err == nil, "eval": res}, err
				})
			},
		},
		&cobra.Command{
			Use: "activate NAME VERSION", Short: "Serve VERSION (pinned)", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, a []string) error {
				return run(cmd, a[0], true, func(ctx context.Context, r *models.Registry) (any, error) { return nil, r.Activate(ctx, a[0], a[1]) })
			},
		},
		&cobra.Command{
			Use: "canary NAME VERSION PERCENT", Short: "Send PERCENT of requests to VERSION (0 ends the canary)", Args: cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, a []string) error {
				pct, err := strconv.Atoi(a[2])
				if err != nil {
					return fmt.Errorf("percent %q: want a whole number from 0 to 100", a[2])
				}
				return run(cmd, a[0], true, func(ctx context.Context, r *models.Registry) (any, error) { return nil, r.Canary(ctx, a[0], a[1], pct) })
			},
		},
		&cobra.Command{
			Use: "shadow NAME [VERSION]", Short: "Run VERSION on live traffic without answering (no VERSION ends it)", Args: cobra.RangeArgs(1, 2),
			RunE: func(cmd *cobra.Command, a []string) error {
				ver := ""
				if len(a) == 2 {
					ver = a[1]
				}
				return run(cmd, a[0], true, func(ctx context.Context, r *models.Registry) (any, error) { return nil, r.Shadow(ctx, a[0], ver) })
			},
		},
		&cobra.Command{
			Use: "rollback NAME", Short: "Serve the previously active version again", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, a []string) error {
				return run(cmd, a[0], true, func(ctx context.Context, r *models.Registry) (any, error) { return nil, r.Rollback(ctx, a[0]) })
			},
		},
		&cobra.Command{
			Use: "latest NAME", Short: "Serve the newest valid version from now on", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, a []string) error {
				return run(cmd, a[0], true, func(ctx context.Context, r *models.Registry) (any, error) { return nil, r.Latest(ctx, a[0]) })
			},
		},
	)
	return cmd
}

func printModels(w io.Writer, list []models.ModelStatus) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tTASK\tPOLICY\tVERSION\tROLES\tNOTE")
	for _, m := range list {
		for _, v := range m.Versions {
			roles := fmt.Sprint(v.Roles)
			if len(v.Roles) == 0 {
				roles = "-"
			}
			note := v.Error
			if v.Eval != nil {
				note = fmt.Sprintf("eval: accuracy %.3f on %d, p99 %.1f ms", v.Eval.Accuracy, v.Eval.N, v.Eval.P99Ms)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Task, m.State.Policy, v.Version, roles, note)
		}
	}
	tw.Flush()
	for _, m := range list {
		if m.Shadow != nil {
			fmt.Fprintf(w, "%s: shadow version %s agrees with the answering version on %.1f%% of %d requests\n",
				m.Name, m.Shadow.Version, 100*m.Shadow.Agreement, m.Shadow.Compared)
		}
	}
}
