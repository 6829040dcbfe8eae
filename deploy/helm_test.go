package deploy_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-cs/switchboard/deploy"
)

const alertsPath = "prometheus/alerts.yml"

// rendered is a rendering of the chart, every object decoded strictly into its type.
type rendered struct {
	manifests      []deploy.Manifest
	deployment     *appsv1.Deployment
	service        *corev1.Service
	serviceAccount *corev1.ServiceAccount
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	pdb            *policyv1.PodDisruptionBudget
	netpol         *networkingv1.NetworkPolicy
	ingress        *networkingv1.Ingress
	serviceMonitor *serviceMonitor
	rule           *prometheusRule
	configMaps     map[string]*corev1.ConfigMap
	secrets        map[string]*corev1.Secret
	jobs           map[string]*batchv1.Job
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor the chart uses
// (monitoring.coreos.com/v1 has no k8s.io/api type); decoding is strict, so a field the
// chart writes must be here.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string         `json:"port"`
			Path          string         `json:"path"`
			Scheme        string         `json:"scheme"`
			Interval      string         `json:"interval"`
			ScrapeTimeout string         `json:"scrapeTimeout"`
			TLSConfig     map[string]any `json:"tlsConfig,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is the Prometheus Operator's PrometheusRule; its spec is a rule file.
type prometheusRule struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            ruleFile          `json:"spec"`
}

type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []struct {
			Alert       string            `json:"alert,omitempty"`
			Record      string            `json:"record,omitempty"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels,omitempty"`
			Annotations map[string]string `json:"annotations,omitempty"`
		} `json:"rules"`
	} `json:"groups"`
}

// requiredValues are the values the chart cannot render without: an external PostgreSQL
// and, with more than one replica, a shared JWT secret, Redis and key ring.
const requiredValues = `
secrets:
  postgres: {dsn: "postgres://app:app-pw@db:5432/switchboard?sslmode=require"}
  auth: {jwt_secret: required-values-jwt-secret-0123456789abcdef}
config:
  redis: {addr: "redis:6379"}
keyRing: {existingSecret: sb-keyring}
`

// withRequired returns o with requiredValues as its first values file, so that the
// options' and the case's values override them.
func withRequired(t *testing.T, o deploy.ChartOptions) deploy.ChartOptions {
	t.Helper()
	f := filepath.Join(t.TempDir(), "required.yaml")
	if err := os.WriteFile(f, []byte(requiredValues), 0o600); err != nil {
		t.Fatal(err)
	}
	o.ValueFiles = append([]string{f}, o.ValueFiles...)
	return o
}

// render renders the chart with valuesYAML (a values file after the options' ones) and
// sets, and decodes it.
func render(t *testing.T, o deploy.ChartOptions, valuesYAML string) *rendered {
	t.Helper()
	ms, err := renderErr(t, o, valuesYAML)
	if err != nil {
		t.Fatal(err)
	}
	return decodeAll(t, ms)
}

func renderErr(t *testing.T, o deploy.ChartOptions, valuesYAML string) ([]deploy.Manifest, error) {
	t.Helper()
	o.ChartDir = chartDir
	if valuesYAML != "" {
		f := filepath.Join(t.TempDir(), "values.yaml")
		if err := os.WriteFile(f, []byte(valuesYAML), 0o600); err != nil {
			t.Fatal(err)
		}
		o.ValueFiles = append(slices.Clone(o.ValueFiles), f)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return deploy.RenderChart(context.Background(), log, o)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// decodeAll decodes every manifest strictly (an unknown or duplicate field fails) into
// the k8s.io/api type of its kind, or the local type of a Prometheus Operator resource.
func decodeAll(t *testing.T, ms []deploy.Manifest) *rendered {
	t.Helper()
	r := &rendered{manifests: ms, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, jobs: map[string]*batchv1.Job{}}
	for _, m := range ms {
		var obj any
		var api string
		switch m.Kind {
		case "Deployment":
			api, r.deployment = "apps/v1", once(t, m, r.deployment)
			obj = r.deployment
		case "Service":
			api, r.service = "v1", once(t, m, r.service)
			obj = r.service
		case "ServiceAccount":
			api, r.serviceAccount = "v1", once(t, m, r.serviceAccount)
			obj = r.serviceAccount
		case "HorizontalPodAutoscaler":
			api, r.hpa = "autoscaling/v2", once(t, m, r.hpa)
			obj = r.hpa
		case "PodDisruptionBudget":
			api, r.pdb = "policy/v1", once(t, m, r.pdb)
			obj = r.pdb
		case "NetworkPolicy":
			api, r.netpol = "networking.k8s.io/v1", once(t, m, r.netpol)
			obj = r.netpol
		case "Ingress":
			api, r.ingress = "networking.k8s.io/v1", once(t, m, r.ingress)
			obj = r.ingress
		case "ServiceMonitor":
			api, r.serviceMonitor = deploy.MonitoringAPI, once(t, m, r.serviceMonitor)
			obj = r.serviceMonitor
		case "PrometheusRule":
			api, r.rule = deploy.MonitoringAPI, once(t, m, r.rule)
			obj = r.rule
		case "ConfigMap":
			api, r.configMaps[m.Name] = "v1", &corev1.ConfigMap{}
			obj = r.configMaps[m.Name]
		case "Secret":
			api, r.secrets[m.Name] = "v1", &corev1.Secret{}
			obj = r.secrets[m.Name]
		case "Job":
			api, r.jobs[m.Name] = "batch/v1", &batchv1.Job{}
			obj = r.jobs[m.Name]
		default:
			t.Fatalf("%s: kind %s is not one the test knows", m.Source, m.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(m.YAML), obj); err != nil {
			t.Fatalf("%s (%s %s) does not decode strictly: %v\n%s", m.Source, m.Kind, m.Name, err, m.YAML)
		}
		var head metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(m.YAML), &head); err != nil || head.APIVersion != api {
			t.Errorf("%s: %s has apiVersion %q, want %q", m.Source, m.Kind, head.APIVersion, api)
		}
	}
	return r
}

// once returns a new object for a kind the chart renders at most once.
func once[T any](t *testing.T, m deploy.Manifest, prev *T) *T {
	t.Helper()
	if prev != nil {
		t.Fatalf("%s: a second %s", m.Source, m.Kind)
	}
	return new(T)
}

// secretEnv decodes a Secret's variables.
func secretEnv(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out
}

// keyTableEnv maps each documented variable to whether it is secret.
func keyTableEnv(t *testing.T) map[string]bool {
	out := map[string]bool{}
	for _, k := range readDocKeys(t) {
		out[k.Env] = k.Secret
	}
	return out
}

// checkCommon asserts what holds for every value set: the objects a release needs and
// how they fit together.
func checkCommon(t *testing.T, r *rendered) {
	t.Helper()
	secretVars := keyTableEnv(t)
	d := r.deployment
	if d == nil || r.service == nil || r.pdb == nil || r.netpol == nil {
		t.Fatalf("want a Deployment, Service, PodDisruptionBudget and NetworkPolicy; got %v", kinds(r))
	}
	podLabels := labels.Set(d.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(podLabels) {
		t.Errorf("the Deployment's selector %v does not match its pods' labels %v", d.Spec.Selector, podLabels)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if diff := cmp.Diff([]string{"switchboard"}, c.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"serve"}, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	checkPodSecurity(t, "Deployment", pod)

	httpPort := containerPort(c, "http")
	if httpPort == 0 {
		t.Fatalf("no container port named http: %v", c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"startup", c.StartupProbe, "/healthz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: missing or not an HTTP GET", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe: GET %s on port %s, want %s on http", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}
	if c.StartupProbe != nil && c.StartupProbe.FailureThreshold*c.StartupProbe.PeriodSeconds < 120 {
		t.Errorf("the startup probe gives up after %d s; loading models takes longer", c.StartupProbe.FailureThreshold*c.StartupProbe.PeriodSeconds)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources: want cpu and memory requests and a memory limit, got %+v", c.Resources)
	}

	// Environment: the ConfigMap's and the Secret's variables.
	if len(c.EnvFrom) != 2 || c.EnvFrom[0].ConfigMapRef == nil || c.EnvFrom[1].SecretRef == nil {
		t.Fatalf("envFrom: want a ConfigMap then a Secret, got %+v", c.EnvFrom)
	}
	cm := r.configMaps[c.EnvFrom[0].ConfigMapRef.Name]
	if cm == nil {
		t.Fatalf("envFrom names ConfigMap %q, which is not rendered", c.EnvFrom[0].ConfigMapRef.Name)
	}
	for name := range cm.Data {
		if secret, documented := secretVars[name]; !documented {
			t.Errorf("ConfigMap: %s is not a documented variable", name)
		} else if secret {
			t.Errorf("ConfigMap: %s is a secret", name)
		}
	}
	if sec := r.secrets[c.EnvFrom[1].SecretRef.Name]; sec != nil {
		env := secretEnv(sec)
		if _, ok := env["SWITCHBOARD_PG_OWNER_DSN"]; ok {
			t.Errorf("the serving pods' Secret holds postgres.owner_dsn; only the migration may")
		}
		if len(env["SWITCHBOARD_JWT_SECRET"]) < 32 {
			t.Errorf("SWITCHBOARD_JWT_SECRET is %d bytes, want at least 32 (replicas must share one)", len(env["SWITCHBOARD_JWT_SECRET"]))
		}
		for name := range env {
			if _, documented := secretVars[name]; !documented {
				t.Errorf("Secret: %s is not a documented variable", name)
			}
		}
	}
	dataDir := cm.Data["SWITCHBOARD_DATA_DIR"]
	if m := mount(c, "data"); m == nil || m.MountPath != dataDir || m.ReadOnly {
		t.Errorf("data_dir %q: want the writable data volume mounted there, got %+v", dataDir, m)
	}
	if m := mount(c, "tmp"); m == nil || m.MountPath != "/tmp" {
		t.Errorf("want the tmp volume on /tmp, got %+v", m)
	}
	for _, v := range []string{"data", "tmp"} {
		if vol := volume(pod, v); vol == nil || vol.EmptyDir == nil {
			t.Errorf("volume %s: want an emptyDir, got %+v", v, vol)
		}
	}
	if want := fmt.Sprintf(":%d", httpPort); !strings.HasSuffix(cm.Data["SWITCHBOARD_HTTP_ADDR"], want) {
		t.Errorf("SWITCHBOARD_HTTP_ADDR %q does not listen on the container port %d", cm.Data["SWITCHBOARD_HTTP_ADDR"], httpPort)
	}

	// The Service, PDB and NetworkPolicy select these pods.
	if !labels.SelectorFromSet(r.service.Spec.Selector).Matches(podLabels) {
		t.Errorf("the Service's selector %v misses the pods %v", r.service.Spec.Selector, podLabels)
	}
	if sp := servicePort(r.service, "http"); sp == nil || sp.TargetPort.String() != "http" {
		t.Errorf("the Service's http port does not target the container's http port: %+v", r.service.Spec.Ports)
	}
	for name, s := range map[string]*metav1.LabelSelector{"PodDisruptionBudget": r.pdb.Spec.Selector, "NetworkPolicy": &r.netpol.Spec.PodSelector} {
		if sel, err := metav1.LabelSelectorAsSelector(s); err != nil || !sel.Matches(podLabels) {
			t.Errorf("the %s's selector %v misses the pods %v", name, s, podLabels)
		}
	}
	if (r.pdb.Spec.MaxUnavailable == nil) == (r.pdb.Spec.MinAvailable == nil) {
		t.Errorf("PodDisruptionBudget: want one of minAvailable and maxUnavailable: %+v", r.pdb.Spec)
	}

	// Autoscaling: the HPA owns the replica count, on CPU first.
	if r.hpa != nil {
		if d.Spec.Replicas != nil {
			t.Errorf("with an HPA the Deployment must not set replicas (got %d)", *d.Spec.Replicas)
		}
		ref := r.hpa.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
			t.Errorf("the HPA scales %+v, not the Deployment %s", ref, d.Name)
		}
		if len(r.hpa.Spec.Metrics) == 0 || r.hpa.Spec.Metrics[0].Resource == nil || r.hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
			r.hpa.Spec.Metrics[0].Resource.Target.AverageUtilization == nil {
			t.Errorf("the HPA's first metric is not CPU utilization: %+v", r.hpa.Spec.Metrics)
		}
	} else if d.Spec.Replicas == nil {
		t.Errorf("without an HPA the Deployment must set replicas")
	}

	// Monitoring: the ServiceMonitor scrapes a port the Service has; the rule is alerts.yml.
	if sm := r.serviceMonitor; sm != nil {
		if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(r.service.Labels)) {
			t.Errorf("the ServiceMonitor's selector %v misses the Service %v", sm.Spec.Selector.MatchLabels, r.service.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 || servicePort(r.service, sm.Spec.Endpoints[0].Port) == nil || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("the ServiceMonitor scrapes %+v, not /metrics on a port of the Service %+v", sm.Spec.Endpoints, r.service.Spec.Ports)
		}
	}
	if r.rule != nil {
		checkRuleIsAlertsFile(t, r.rule)
	}
	for name, j := range r.jobs {
		checkMigrationJob(t, r, name, j)
	}
}

// checkPodSecurity asserts the pod and container security settings.
func checkPodSecurity(t *testing.T, what string, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v: want runAsNonRoot and seccomp RuntimeDefault", what, psc)
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s: container %s has no securityContext", what, c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem,
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation,
			sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot,
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0,
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Errorf("%s: container %s securityContext %+v: want a read-only root, no privilege escalation, non-root, all capabilities dropped, seccomp RuntimeDefault", what, c.Name, sc)
		}
	}
}

// checkMigrationJob asserts the migration hook: switchboard migrate before install and
// upgrade, with its own hook copies of the configuration created before it.
func checkMigrationJob(t *testing.T, r *rendered, name string, j *batchv1.Job) {
	t.Helper()
	a := j.Annotations
	if a["helm.sh/hook"] != "pre-install,pre-upgrade" {
		t.Errorf("Job %s: helm.sh/hook %q, want pre-install,pre-upgrade", name, a["helm.sh/hook"])
	}
	if !strings.Contains(a["helm.sh/hook-delete-policy"], "before-hook-creation") {
		t.Errorf("Job %s: hook-delete-policy %q lacks before-hook-creation (a second upgrade would fail)", name, a["helm.sh/hook-delete-policy"])
	}
	pod := j.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("Job %s: want one container that is not restarted in place: %+v", name, pod)
	}
	c := pod.Containers[0]
	if !slices.Equal(c.Args, []string{"migrate"}) || !slices.Equal(c.Command, []string{"switchboard"}) {
		t.Errorf("Job %s runs %v %v, want switchboard migrate", name, c.Command, c.Args)
	}
	if pod.ServiceAccountName != "" {
		t.Errorf("Job %s: service account %q does not exist before the release", name, pod.ServiceAccountName)
	}
	checkPodSecurity(t, "Job "+name, pod)
	jobPod := labels.Set(j.Spec.Template.Labels)
	for what, s := range map[string]*metav1.LabelSelector{
		"Deployment": r.deployment.Spec.Selector, "PodDisruptionBudget": r.pdb.Spec.Selector, "NetworkPolicy": &r.netpol.Spec.PodSelector,
		"Service": {MatchLabels: r.service.Spec.Selector},
	} {
		if sel, err := metav1.LabelSelectorAsSelector(s); err != nil || sel.Matches(jobPod) {
			t.Errorf("Job %s: the %s's selector %v matches its pods %v (a PDB would count them, a Service send them traffic)", name, what, s, jobPod)
		}
	}
	weight := hookWeight(t, a)
	for _, ref := range c.EnvFrom {
		switch {
		case ref.ConfigMapRef != nil:
			cm := r.configMaps[ref.ConfigMapRef.Name]
			if cm == nil || cm.Annotations["helm.sh/hook"] != a["helm.sh/hook"] || hookWeight(t, cm.Annotations) >= weight {
				t.Errorf("Job %s: ConfigMap %s is not a hook created before it", name, ref.ConfigMapRef.Name)
			}
		case ref.SecretRef != nil:
			if s := r.secrets[ref.SecretRef.Name]; s != nil && (s.Annotations["helm.sh/hook"] != a["helm.sh/hook"] || hookWeight(t, s.Annotations) >= weight) {
				t.Errorf("Job %s: Secret %s is not a hook created before it", name, ref.SecretRef.Name)
			}
		}
	}
	for _, m := range r.manifests {
		if m.Name == name && m.Kind == "Job" && !m.Hook {
			t.Errorf("Job %s is not rendered as a hook", name)
		}
	}
}

func hookWeight(t *testing.T, a map[string]string) int {
	var w int
	if _, err := fmt.Sscan(a["helm.sh/hook-weight"], &w); err != nil {
		t.Errorf("hook weight %q: %v", a["helm.sh/hook-weight"], err)
	}
	return w
}

// checkRuleIsAlertsFile asserts the PrometheusRule carries deploy/prometheus/alerts.yml.
func checkRuleIsAlertsFile(t *testing.T, rule *prometheusRule) {
	t.Helper()
	data, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	var want ruleFile
	if err := yaml.UnmarshalStrict(data, &want); err != nil {
		t.Fatalf("%s: %v", alertsPath, err)
	}
	if len(want.Groups) == 0 {
		t.Fatalf("%s has no groups", alertsPath)
	}
	if diff := cmp.Diff(want, rule.Spec); diff != "" {
		t.Errorf("the PrometheusRule's groups differ from %s (-file +rule):\n%s", alertsPath, diff)
	}
}

func kinds(r *rendered) []string {
	var out []string
	for _, m := range r.manifests {
		out = append(out, m.Kind+"/"+m.Name)
	}
	return out
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func servicePort(s *corev1.Service, name string) *corev1.ServicePort {
	for i, p := range s.Spec.Ports {
		if p.Name == name {
			return &s.Spec.Ports[i]
		}
	}
	return nil
}

func mount(c corev1.Container, name string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if m.Name == name {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volume(pod corev1.PodSpec, name string) *corev1.Volume {
	for i, v := range pod.Volumes {
		if v.Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}
