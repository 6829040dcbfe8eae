package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

var grafanaDir = filepath.Join("..", "..", "deploy", "grafana")

// dashboard is what the tests read of a Grafana dashboard.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// promExpr is one PromQL expression and where it is written.
type promExpr struct{ where, expr string }

// dashboards reads every dashboard under deploy/grafana/dashboards, strictly.
func dashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(grafanaDir, "dashboards", "*.json"))
	if err != nil || len(files) < 7 {
		t.Fatalf("dashboards: %v %v", files, err)
	}
	out := map[string]dashboard{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// TestGrafanaDashboards: the provisioning files point Grafana at the compose stack's
// Prometheus (by the uid the dashboards use) and at the mounted dashboards; each dashboard
// is valid JSON with schemaVersion ≥ 39, a uid no other dashboard has, panel ids unique
// within it, and every panel and query on the provisioned datasource with a query.
func TestGrafanaDashboards(t *testing.T) {
	var ds struct {
		Datasources []struct{ Name, UID, Type, URL string } `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(grafanaDir, "provisioning", "datasources", "prometheus.yml"), &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("datasources: %+v", ds)
	}
	uid := ds.Datasources[0].UID
	var prov struct {
		Providers []struct {
			Type    string
			Options struct{ Path string }
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(grafanaDir, "provisioning", "dashboards", "switchboard.yml"), &prov)
	if len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path != "/var/lib/grafana/dashboards" {
		t.Fatalf("dashboard providers: %+v", prov)
	}

	uids := map[string]string{}
	for file, d := range dashboards(t) {
		if d.UID == "" || d.Title == "" || d.SchemaVersion < 39 {
			t.Errorf("%s: uid %q, title %q, schemaVersion %d", file, d.UID, d.Title, d.SchemaVersion)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share the uid %q", file, other, d.UID)
		}
		uids[d.UID] = file
		ids := map[int]bool{}
		queries := 0
		for _, p := range allPanels(d.Panels) {
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("%s: panel %q has id %d, not unique", file, p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != uid || len(p.Targets) == 0 {
				t.Errorf("%s: panel %q: datasource %+v, %d queries; want the provisioned %q and a query", file, p.Title, p.Datasource, len(p.Targets), uid)
			}
			for _, q := range p.Targets {
				queries++
				if q.Expr == "" || q.Datasource == nil || q.Datasource.UID != uid {
					t.Errorf("%s: panel %q query %s: %q on %+v", file, p.Title, q.RefID, q.Expr, q.Datasource)
				}
			}
		}
		if queries < 4 {
			t.Errorf("%s: %d queries", file, queries)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// grafanaVars are Grafana's interval variables, replaced by a duration so that an
// expression is plain PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// promExprs are the expressions of the alert rules and of every dashboard query.
func promExprs(t *testing.T) []promExpr {
	t.Helper()
	var out []promExpr
	for _, r := range alertRules(t) {
		out = append(out, promExpr{"alerts.yml " + r.Alert, r.Expr})
	}
	for file, d := range dashboards(t) {
		for _, p := range allPanels(d.Panels) {
			for _, q := range p.Targets {
				out = append(out, promExpr{fmt.Sprintf("%s panel %d %q query %s", file, p.ID, p.Title, q.RefID), grafanaVars.Replace(q.Expr)})
			}
		}
	}
	slices.SortFunc(out, func(a, b promExpr) int { return strings.Compare(a.where, b.where) })
	return out
}

// checkParses runs `promtool check rules` on a rules file holding each expression as a
// recording rule: promtool parses them all (this promtool has no parse-only command).
func checkParses(t *testing.T, promtool string, exprs []promExpr) error {
	t.Helper()
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range exprs {
		rules = append(rules, rule{Record: fmt.Sprintf("switchboard_expr_%d", i), Expr: e.expr})
	}
	raw, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "expressions", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "expressions.yml")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	return nil
}

// TestPromQLExpressionsParse: every expression of the alert rules and of the dashboards
// parses (promtool); a broken one is refused, so the check can fail.
func TestPromQLExpressionsParse(t *testing.T) {
	promtool := needPromtool(t)
	exprs := promExprs(t)
	if err := checkParses(t, promtool, exprs); err != nil {
		t.Fatalf("%d expressions: %v", len(exprs), err)
	}
	if err := checkParses(t, promtool, []promExpr{{"broken", "sum(rate(switchboard_turn_seconds_count[5m])"}}); err == nil {
		t.Fatal("promtool accepted an unbalanced expression")
	}
	t.Logf("%d expressions parse", len(exprs))
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promNotMetric = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true,
		"without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true, "atan2": true}
)

// metricNames are the metric names an expression selects: identifiers that are not
// functions or aggregations (followed by a parenthesis), keywords, label names (inside
// matchers or grouping clauses), strings, durations or parts of numbers.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, "{}")
	s = promRanges.ReplaceAllString(s, "")
	s = promGrouping.ReplaceAllString(s, "")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		word := s[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(s[loc[0]-1:loc[0]], "0123456789.") {
			continue // 1e3, 0x1f
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") || promNotMetric[strings.ToLower(word)] {
			continue
		}
		if !slices.Contains(out, word) {
			out = append(out, word)
		}
	}
	slices.Sort(out)
	return out
}

func TestMetricNamesOfAnExpression(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`up`, "up"},
		{`sum by (group) (switchboard_queue_depth) > 20`, "switchboard_queue_depth"},
		{`histogram_quantile(0.99, sum by (le, stage) (rate(switchboard_pipeline_stage_seconds_bucket{stage=~"speech|x"}[5m])))`,
			"switchboard_pipeline_stage_seconds_bucket"},
		{`sum(rate(a_total{status=~"5.."}[5m])) / sum(rate(a_total[5m] offset 1h)) > 0.05`, "a_total"},
		{`x and on (instance) y unless ignoring(le) z * 1e3`, "x y z"},
		{`sum(x) without (instance) / on(job) group_left(version) info{role="a b"}`, "info x"},
		{`min by (instance) (dep_up{dependency="postgres"}) == bool 0`, "dep_up"},
		{`rate(a:b:rate5m[$__rate_interval])`, "a:b:rate5m"},
	} {
		if diff := cmp.Diff(strings.Fields(tc.want), metricNames(grafanaVars.Replace(tc.expr))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.expr, diff)
		}
	}
}

// storeWideGauges are read from PostgreSQL or Redis by every replica (the SLA watcher and
// the queue workers' maintenance), so each replica exports the same store-wide numbers.
var storeWideGauges = []string{"switchboard_queue_depth", "switchboard_ticket_backlog",
	"switchboard_sla_at_risk_tickets", "switchboard_queue_rows", "switchboard_queue_oldest_wait_seconds"}

// maxedOver matches the text before a selector that max aggregates directly: "max(" or
// "max by (group) (" (or without).
var maxedOver = regexp.MustCompile(`\bmax\s*(?:(?:by|without)\s*\([^)]*\)\s*)?\(\s*$`)

// storeWideSums are the selectors of store-wide gauges in expr that are not directly
// inside a max aggregation: summed (or left per replica) they would count once per replica.
func storeWideSums(expr string) []string {
	var out []string
	for _, name := range storeWideGauges {
		re := regexp.MustCompile(`\b` + name + `\b`)
		for _, loc := range re.FindAllStringIndex(expr, -1) {
			if !maxedOver.MatchString(expr[:loc[0]]) {
				out = append(out, name)
			}
		}
	}
	return out
}

func TestStoreWideSumsOfAnExpression(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`max by (group) (switchboard_queue_depth) > 20`, ""},
		{`sum(max by (group) (switchboard_sla_at_risk_tickets))`, ""},
		{`max by (queue, channel) ( switchboard_queue_rows{state="failed"})`, ""},
		{`max(switchboard_ticket_backlog)`, ""},
		{`sum by (group) (switchboard_queue_depth) > 20`, "switchboard_queue_depth"},
		{`sum(switchboard_ticket_backlog)`, "switchboard_ticket_backlog"},
		{`switchboard_queue_rows{state="pending"}`, "switchboard_queue_rows"},
		{`max by (group) (switchboard_queue_depth) + sum(switchboard_queue_depth)`, "switchboard_queue_depth"},
		{`sum(rate(switchboard_queue_results_total[5m]))`, ""},
	} {
		if diff := cmp.Diff(strings.Fields(tc.want), storeWideSums(tc.expr), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.expr, diff)
		}
	}
}

// TestStoreWideGaugesNotSummed: every alert rule and dashboard query that reads a
// store-wide gauge takes the max over replicas, so two replicas do not double it.
func TestStoreWideGaugesNotSummed(t *testing.T) {
	n := 0
	for _, e := range promExprs(t) {
		for _, name := range storeWideGauges {
			if strings.Contains(e.expr, name) {
				n++
				break
			}
		}
		if bad := storeWideSums(e.expr); len(bad) > 0 {
			t.Errorf("%s: %v aggregated without max over replicas: %s", e.where, bad, e.expr)
		}
	}
	if n < 8 {
		t.Fatalf("only %d expressions read a store-wide gauge", n)
	}
}

// exposedNames are the metric names of a text exposition.
func exposedNames(body string) map[string]bool {
	out := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			out[line[:i]] = true
		}
	}
	return out
}

// TestEveryMetricNamedIsExposed starts a real server (external PostgreSQL, in-process
// Redis, PocketSphinx, a vision model with a shadow version), drives a little traffic
// through it (a customer turn the bot hands over, the agent's reply, a second customer who
// waits, a photo classified), scrapes its /metrics and checks that every metric any alert
// rule or dashboard query names is exposed: a metric the server never exposes would leave
// its alert silent and its panel empty forever. Series that only an event would create
// (panics, dead letters, failed swaps) are exported as 0 from the start; a few are
// checked by value.
//
//	go test ./cmd/switchboard -run 'TestEveryMetricNamedIsExposed' -v
func TestEveryMetricNamedIsExposed(t *testing.T) {
	onnxtest.ORT(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = freeAddr(t)
	cfg.Log.Level = "error"
	cfg.Postgres.DSN = testenv.PG(t)
	cfg.SLA.CheckInterval = 200 * time.Millisecond
	t.Setenv("SWITCHBOARD_DATA_DIR", cfg.DataDir)
	t.Setenv("SWITCHBOARD_PG_DSN", cfg.Postgres.DSN)
	visiontest.Constant(t, cfg.ModelsDir(), "imagenet", 1, 22)
	visiontest.Constant(t, cfg.ModelsDir(), "imagenet", 2, 23)
	state := `{"policy": "pinned", "active": "1", "shadow": "2"}`
	if err := os.WriteFile(filepath.Join(cfg.ModelsDir(), "imagenet", models.StateFile), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	base, stop := startServe(t, cfg)
	defer stop()
	ready := time.Since(start)

	token := func(user, role string) string {
		out, err := execCLI(t, "", "token", user, "--role", role)
		if err != nil {
			t.Fatalf("token %s: %v %s", user, err, out)
		}
		return strings.TrimSpace(out)
	}
	sup, alice := token("sam", "supervisor"), token("alice", "agent")
	for _, step := range []struct{ token, method, path, body string }{
		{sup, "PUT", "/v1/skill-groups/support", `{"name":"Support","skills":[]}`},
		{sup, "PUT", "/v1/agents/alice", `{"groups":["support"],"capacity":1}`},
		{alice, "PUT", "/v1/me/status", `{"status":"online"}`},
	} {
		if code := request(t, step.token, step.method, base+step.path, step.body, nil); code != 200 {
			t.Fatalf("%s %s: %d", step.method, step.path, code)
		}
	}
	var turn struct {
		Escalated bool   `json:"escalated"`
		TicketID  string `json:"ticket_id"`
	}
	if code := request(t, token("web:m1", "customer"), "POST", base+"/v1/messages", `{"text":"talk to a human"}`, &turn); code != 200 || !turn.Escalated {
		t.Fatalf("a customer asking for a human: %d %+v", code, turn)
	}
	if code := request(t, alice, "POST", base+"/v1/tickets/"+turn.TicketID+"/replies", `{"text":"Alice here, how can I help?"}`, nil); code != 201 {
		t.Fatalf("the agent's reply: %d", code)
	}
	if code := request(t, token("web:m2", "customer"), "POST", base+"/v1/messages", `{"text":"talk to a human"}`, &turn); code != 200 || !turn.Escalated {
		t.Fatalf("a second customer asking for a human: %d %+v", code, turn)
	}
	photo, err := os.ReadFile(visiontest.Photo(t, "images_wonnx/bald_eagle.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	if code := request(t, alice, "POST", base+"/v1/vision/classify", string(photo), nil); code != 200 {
		t.Fatalf("classify: %d", code)
	}

	// The SLA watcher exports the queue gauges within its interval; the shadow version
	// runs in the background.
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(raw)
		if strings.Contains(body, `switchboard_queue_depth{group="support"} 1`) &&
			!strings.Contains(body, `switchboard_model_shadow_comparisons_total{agree="false",model="imagenet",version="2"} 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no queue depth of 1 for support, or no shadow comparison, after 10 s:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	exposed := exposedNames(body)
	exprs := promExprs(t)
	named := map[string][]string{}
	for _, e := range exprs {
		names := metricNames(e.expr)
		if len(names) == 0 {
			t.Errorf("%s names no metric: %s", e.where, e.expr)
		}
		for _, n := range names {
			named[n] = append(named[n], e.where)
		}
	}
	var missing []string
	for n, where := range named {
		if !exposed[n] {
			missing = append(missing, fmt.Sprintf("%s (in %s)", n, strings.Join(where, "; ")))
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("%d of %d metrics named are not in /metrics:\n%s", len(missing), len(named), strings.Join(missing, "\n"))
	}
	for _, series := range []string{
		`switchboard_dependency_up{dependency="postgres"} 1`,
		`switchboard_dependency_up{dependency="redis"} 1`,
		`switchboard_queue_oldest_wait_seconds{group="support"} `,
		`switchboard_model_swaps_total{model="imagenet",result="failed"} 0`,
		`switchboard_model_swaps_total{model="imagenet",result="ok"} 1`,
		`switchboard_model_loads_total{model="imagenet",result="invalid"} 0`,
		`switchboard_model_errors_total{kind="runtime",model="imagenet",version="1"} 0`,
		`switchboard_queue_rows{channel="rest",queue="turns",state="failed"} 0`,
		`switchboard_queue_results_total{channel="rest",queue="turns",result="dead_lettered"} 0`,
		`switchboard_panics_total{where="sla_watch"} 0`,
		`switchboard_routing_decisions_total{outcome="error"} 0`,
		`customer_service_sla_violation_total{group="support",kind="first_response",priority="urgent"} 0`,
		`switchboard_routing_decisions_total{outcome="queued"} 1`,
		`switchboard_turn_seconds_count{path="inline"} 2`,
		`switchboard_turn_seconds_count{path="queued"} 0`,
		`switchboard_turns_total{outcome="escalated",path="inline"} 2`,
		`switchboard_turns_total{outcome="answered",path="inline"} 0`,
		`switchboard_turns_total{outcome="resent",path="queued"} 0`,
		`switchboard_speech_rtf_count{language="en"} 0`,
		`switchboard_pg_pool_max_connections{pool="primary"} `,
	} {
		if !strings.Contains(body, "\n"+series) {
			t.Errorf("/metrics has no %s", series)
		}
	}
	t.Logf("%d expressions name %d metrics; server ready in %v, whole test %v",
		len(exprs), len(named), ready.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
