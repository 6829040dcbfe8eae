package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/strvals"
)

// ErrRender is wrapped by every error of RenderChart and LintChart.
var ErrRender = errors.New("helm chart")

// MonitoringAPI is the API group/version of the Prometheus Operator's ServiceMonitor and
// PrometheusRule; the chart renders them only when the cluster (here: the options) has it.
const MonitoringAPI = "monitoring.coreos.com/v1"

// DefaultKubeVersion is the cluster version rendered for when the options name none.
const DefaultKubeVersion = "v1.34.0"

// ChartOptions says which chart to render and with which values, as `helm template`
// takes them: value files first, then --set-json, --set and --set-string.
type ChartOptions struct {
	ChartDir     string   // the chart's directory, e.g. helm/switchboard
	ReleaseName  string   // default "switchboard"
	Namespace    string   // default "default"
	ValueFiles   []string // -f
	Set          []string // --set key=value
	SetString    []string // --set-string key=value
	SetJSON      []string // --set-json key=json
	APIVersions  []string // cluster capabilities besides the built-in ones (--api-versions)
	KubeVersion  string   // default DefaultKubeVersion
	IsUpgrade    bool     // render as an upgrade (.Release.IsUpgrade)
	SkipDefaults bool     // do not add MonitoringAPI to APIVersions
}

// Manifest is one rendered Kubernetes object.
type Manifest struct {
	Source string // the template it came from, e.g. switchboard/templates/deployment.yaml
	Kind   string
	Name   string
	Hook   bool   // a Helm hook (helm.sh/hook), applied outside the release's manifest
	YAML   string // the object, one YAML document without the separator
}

// RenderChart renders the chart as `helm template` does, with Helm's engine and its
// install order: the release's objects first, then the hooks by weight. log receives
// Helm's warnings.
func RenderChart(ctx context.Context, log *slog.Logger, o ChartOptions) ([]Manifest, error) {
	ch, err := loader.Load(o.ChartDir)
	if err != nil {
		return nil, fmt.Errorf("%w: load %s: %w", ErrRender, o.ChartDir, err)
	}
	vals, err := o.values()
	if err != nil {
		return nil, err
	}
	caps, err := o.capabilities()
	if err != nil {
		return nil, err
	}
	if c := ch.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("%w: the chart needs Kubernetes %s, not %s", ErrRender, c, caps.KubeVersion.String())
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return nil, fmt.Errorf("%w: dependencies: %w", ErrRender, err)
	}
	rel := common.ReleaseOptions{Name: o.releaseName(), Namespace: o.namespace(), Revision: 1, IsInstall: !o.IsUpgrade, IsUpgrade: o.IsUpgrade}
	rv, err := util.ToRenderValuesWithSchemaValidation(ch, vals, rel, caps, false)
	if err != nil {
		return nil, fmt.Errorf("%w: values: %w", ErrRender, err)
	}
	files, err := engine.Engine{}.RenderWithContext(ctx, ch, rv)
	if err != nil {
		return nil, fmt.Errorf("%w: render: %w", ErrRender, err)
	}
	for name := range files {
		if path.Base(name) == "NOTES.txt" {
			log.Debug("chart notes", "file", name, "text", files[name])
			delete(files, name)
		}
	}
	hooks, objs, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return nil, fmt.Errorf("%w: sort: %w", ErrRender, err)
	}
	var out []Manifest
	for _, m := range objs {
		out = append(out, Manifest{Source: m.Name, Kind: m.Head.Kind, Name: m.Head.Metadata.Name, YAML: strings.TrimSpace(m.Content)})
	}
	for _, h := range hooks {
		out = append(out, Manifest{Source: h.Path, Kind: h.Kind, Name: h.Name, Hook: true, YAML: strings.TrimSpace(h.Manifest)})
	}
	return out, nil
}

// LintChart runs Helm's chart linter (`helm lint --strict`) with the options' values.
func LintChart(o ChartOptions) error {
	vals, err := o.values()
	if err != nil {
		return err
	}
	kv, err := common.ParseKubeVersion(cmp.Or(o.KubeVersion, DefaultKubeVersion))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRender, err)
	}
	res := lint.RunAll(o.ChartDir, vals, o.namespace(), lint.WithKubeVersion(kv))
	var errs []error
	for _, m := range res.Messages {
		if m.Severity >= support.WarningSev {
			errs = append(errs, m.Err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: lint: %w", ErrRender, errors.Join(errs...))
	}
	return nil
}

// JoinManifests writes manifests as one multi-document YAML stream, each with its source.
func JoinManifests(ms []Manifest) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Source, m.YAML)
	}
	return b.String()
}

// values merges the value files, then --set-json, --set and --set-string, as Helm does.
func (o ChartOptions) values() (map[string]any, error) {
	vals := map[string]any{}
	for _, f := range o.ValueFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%w: values: %w", ErrRender, err)
		}
		m, err := loader.LoadValues(strings.NewReader(string(data)))
		if err != nil {
			return nil, fmt.Errorf("%w: values %s: %w", ErrRender, f, err)
		}
		vals = loader.MergeMaps(vals, m)
	}
	for _, set := range []struct {
		flag  string
		args  []string
		parse func(string, map[string]any) error
	}{
		{"--set-json", o.SetJSON, strvals.ParseJSON},
		{"--set", o.Set, strvals.ParseInto},
		{"--set-string", o.SetString, strvals.ParseIntoString},
	} {
		for _, a := range set.args {
			if err := set.parse(a, vals); err != nil {
				return nil, fmt.Errorf("%w: %s %s: %w", ErrRender, set.flag, a, err)
			}
		}
	}
	return vals, nil
}

func (o ChartOptions) capabilities() (*common.Capabilities, error) {
	kv, err := common.ParseKubeVersion(cmp.Or(o.KubeVersion, DefaultKubeVersion))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRender, err)
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	if !o.SkipDefaults {
		caps.APIVersions = append(caps.APIVersions, MonitoringAPI)
	}
	caps.APIVersions = append(caps.APIVersions, o.APIVersions...)
	return caps, nil
}

func (o ChartOptions) releaseName() string { return cmp.Or(o.ReleaseName, "switchboard") }
func (o ChartOptions) namespace() string   { return cmp.Or(o.Namespace, "default") }
