// Command render-chart prints the Switchboard Helm chart rendered as `helm template`
// would, hooks included, through Helm's Go SDK: no helm binary needed.
//
//	cd deploy && go run ./cmd/render-chart [-f values.yaml]... [--set key=val]... [--kind Deployment]...
//
// --kind (repeatable, or comma-separated) keeps only objects of those kinds, e.g.
// --kind Deployment,ConfigMap,Secret for `podman play kube`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/switchboard-cs/switchboard/deploy"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "render-chart:", err)
		}
		os.Exit(2)
	}
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("render-chart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o deploy.ChartOptions
	var kinds list
	fs.StringVar(&o.ChartDir, "chart", "helm/switchboard", "the chart's directory")
	fs.StringVar(&o.ReleaseName, "name", "switchboard", "release name")
	fs.StringVar(&o.Namespace, "namespace", "default", "release namespace")
	fs.StringVar(&o.KubeVersion, "kube-version", deploy.DefaultKubeVersion, "Kubernetes version rendered for")
	fs.BoolVar(&o.IsUpgrade, "is-upgrade", false, "render as an upgrade")
	fs.BoolVar(&o.SkipDefaults, "no-monitoring-api", false, "render as for a cluster without the Prometheus Operator's "+deploy.MonitoringAPI)
	fs.Var((*list)(&o.ValueFiles), "f", "values file (repeatable)")
	fs.Var((*list)(&o.ValueFiles), "values", "values file (repeatable)")
	fs.Var((*list)(&o.Set), "set", "key=value (repeatable)")
	fs.Var((*list)(&o.SetString), "set-string", "key=value, the value kept a string (repeatable)")
	fs.Var((*list)(&o.SetJSON), "set-json", "key=JSON (repeatable)")
	fs.Var((*list)(&o.APIVersions), "api-versions", "extra API versions of the cluster (repeatable)")
	fs.Var(&kinds, "kind", "print only objects of this kind (repeatable, or comma-separated)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(log) // Helm's chart loader logs through the default logger
	ms, err := deploy.RenderChart(ctx, log, o)
	if err != nil {
		return err
	}
	if want := splitKinds(kinds); len(want) > 0 {
		ms = slices.DeleteFunc(ms, func(m deploy.Manifest) bool { return !slices.Contains(want, m.Kind) })
		if len(ms) == 0 {
			return fmt.Errorf("no object of kind %s rendered", strings.Join(want, ", "))
		}
	}
	_, err = io.WriteString(stdout, deploy.JoinManifests(ms))
	return err
}

func splitKinds(kinds []string) []string {
	var out []string
	for _, k := range kinds {
		for _, s := range strings.Split(k, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
