package deploy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchboard-cs/switchboard/deploy"
)

// externalValues points the release at an external PostgreSQL (primary, replica, owner
// for migrations), a Redis Cluster and Qdrant.
const externalValues = `
secrets:
  postgres:
    dsn: postgres://app:app-pw@db-primary:5432/switchboard?sslmode=require
    replica_dsn: postgres://app:app-pw@db-replica:5432/switchboard?sslmode=require
    owner_dsn: postgres://owner:owner-pw@db-primary:5432/switchboard?sslmode=require
  redis: {password: redis-pw}
  kb: {qdrant_api_key: qdrant-key}
  auth: {jwt_secret: 0123456789abcdef0123456789abcdef-jwt}
  security: {key_ring_kek: "S2VrS2VrS2VrS2VrS2VrS2VrS2VrS2VrS2VrS2VrS2s="}
config:
  redis:
    cluster_addrs: [redis-0:6379, redis-1:6379, redis-2:6379]
  kb:
    qdrant_addr: qdrant:6334
    qdrant_collection: support_kb
  postgres: {max_conns: 20}
keyRing: {existingSecret: switchboard-keyring}
`

// TestChartRenders renders the chart for the default values and several value sets; each
// rendering decodes strictly and passes checkCommon, then the set's own checks.
func TestChartRenders(t *testing.T) {
	tests := []struct {
		name   string
		opts   deploy.ChartOptions
		values string
		bare   bool // without requiredValues
		check  func(t *testing.T, r *rendered)
	}{{
		name: "required values alone",
		check: func(t *testing.T, r *rendered) {
			if r.jobs["switchboard-migrate"] == nil {
				t.Errorf("want the migration Job, got %v", kinds(r))
			}
			if r.ingress != nil {
				t.Error("the Ingress is off by default")
			}
			if r.hpa == nil || len(r.hpa.Spec.Metrics) != 1 || *r.hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 {
				t.Errorf("want an HPA on CPU 70 %% alone, got %+v", r.hpa)
			}
			if r.hpa != nil && (r.hpa.Spec.MinReplicas == nil || *r.hpa.Spec.MinReplicas < 2) {
				t.Errorf("the HPA may scale to one replica, which a disruption takes down")
			}
			if r.serviceMonitor == nil || r.rule == nil {
				t.Errorf("want a ServiceMonitor and a PrometheusRule on a cluster with %s", deploy.MonitoringAPI)
			}
			// /metrics is on the admin listener, not on the public API port, and only
			// the monitoring namespace may reach it.
			if sm := r.serviceMonitor; sm != nil && (sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Scheme != "http") {
				t.Errorf("the ServiceMonitor scrapes %+v, want http on the admin listener's port metrics", sm.Spec.Endpoints[0])
			}
			if p := containerPort(r.deployment.Spec.Template.Spec.Containers[0], "metrics"); p != 9090 || servicePort(r.service, "metrics") == nil {
				t.Errorf("the admin listener's port 9090 is not exposed: container port %d, Service %+v", p, r.service.Spec.Ports)
			}
			wantMetricsFrom := []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}}}
			if in := r.netpol.Spec.Ingress; len(in) != 2 || in[1].Ports[0].Port.String() != "metrics" {
				t.Errorf("want NetworkPolicy rules for http and metrics, got %+v", in)
			} else if diff := cmp.Diff(wantMetricsFrom, in[1].From); diff != "" {
				t.Errorf("who may reach the metrics port (-want +got):\n%s", diff)
			}
			want := map[string]string{"SWITCHBOARD_DATA_DIR": "/var/lib/switchboard", "SWITCHBOARD_HTTP_ADDR": ":8080", "SWITCHBOARD_HTTP_ADMIN_ADDR": ":9090", "SWITCHBOARD_LOG_FORMAT": "json",
				"SWITCHBOARD_REDIS_ADDR": "redis:6379", "SWITCHBOARD_SECURITY_KEY_RING_FILE": "/etc/switchboard/keyring/keyring.json"}
			if diff := cmp.Diff(want, r.configMaps["switchboard"].Data); diff != "" {
				t.Errorf("ConfigMap (-want +got):\n%s", diff)
			}
			if c := r.deployment.Spec.Template.Spec.Containers[0]; c.Image != "localhost/switchboard:full" {
				t.Errorf("image %q", c.Image)
			}
		},
	}, {
		name:   "external PostgreSQL, Redis Cluster and Qdrant",
		values: externalValues,
		check: func(t *testing.T, r *rendered) {
			cm := r.configMaps["switchboard"].Data
			for name, want := range map[string]string{
				"SWITCHBOARD_REDIS_CLUSTER_ADDRS": "redis-0:6379,redis-1:6379,redis-2:6379",
				"SWITCHBOARD_QDRANT_ADDR":         "qdrant:6334",
				"SWITCHBOARD_QDRANT_COLLECTION":   "support_kb",
				"SWITCHBOARD_PG_MAX_CONNS":        "20",
			} {
				if cm[name] != want {
					t.Errorf("ConfigMap %s = %q, want %q", name, cm[name], want)
				}
			}
			app := secretEnv(r.secrets["switchboard"])
			mig := secretEnv(r.secrets["switchboard-migrate"])
			for _, name := range []string{"SWITCHBOARD_PG_DSN", "SWITCHBOARD_PG_REPLICA_DSN", "SWITCHBOARD_REDIS_PASSWORD", "SWITCHBOARD_QDRANT_API_KEY", "SWITCHBOARD_JWT_SECRET", "SWITCHBOARD_KEYRING_KEK"} {
				if app[name] == "" || mig[name] != app[name] {
					t.Errorf("%s: %q in the Secret, %q in the migration's", name, app[name], mig[name])
				}
			}
			if mig["SWITCHBOARD_PG_OWNER_DSN"] != "postgres://owner:owner-pw@db-primary:5432/switchboard?sslmode=require" {
				t.Errorf("the migration's Secret lacks the owner DSN: %v", mig)
			}
			if diff := cmp.Diff(cm, r.configMaps["switchboard-migrate"].Data); diff != "" {
				t.Errorf("the migration's ConfigMap differs (-release +migration):\n%s", diff)
			}
			j := r.jobs["switchboard-migrate"]
			if j == nil {
				t.Fatalf("no migration Job: %v", kinds(r))
			}
			env := j.Spec.Template.Spec.Containers[0].EnvFrom
			if env[0].ConfigMapRef.Name != "switchboard-migrate" || env[1].SecretRef.Name != "switchboard-migrate" {
				t.Errorf("the Job reads %+v, want the migration's ConfigMap and Secret", env)
			}
			for _, v := range cm {
				for _, secret := range []string{"app-pw", "owner-pw", "redis-pw", "qdrant-key", "S2VrS2VrS2Vr"} {
					if strings.Contains(v, secret) {
						t.Errorf("the ConfigMap holds a secret: %q", v)
					}
				}
			}
		},
	}, {
		name: "ingress with TLS",
		values: `
ingress:
  enabled: true
  className: nginx
  annotations: {cert-manager.io/cluster-issuer: letsencrypt}
  hosts:
    - host: chat.example.com
      paths: [{path: /, pathType: Prefix}]
  tls:
    - secretName: chat-tls
      hosts: [chat.example.com]
`,
		check: func(t *testing.T, r *rendered) {
			in := r.ingress
			if in == nil {
				t.Fatalf("no Ingress: %v", kinds(r))
			}
			if in.Spec.IngressClassName == nil || *in.Spec.IngressClassName != "nginx" {
				t.Errorf("ingressClassName %v", in.Spec.IngressClassName)
			}
			if len(in.Spec.TLS) != 1 || in.Spec.TLS[0].SecretName != "chat-tls" || !cmp.Equal(in.Spec.TLS[0].Hosts, []string{"chat.example.com"}) {
				t.Errorf("TLS %+v", in.Spec.TLS)
			}
			if len(in.Spec.Rules) != 1 || in.Spec.Rules[0].Host != "chat.example.com" {
				t.Fatalf("rules %+v", in.Spec.Rules)
			}
			b := in.Spec.Rules[0].HTTP.Paths[0].Backend.Service
			if b == nil || b.Name != r.service.Name || b.Port.Name != "http" {
				t.Errorf("the Ingress sends to %+v, not the Service's http port", b)
			}
		},
	}, {
		name: "HPA on a custom metric too",
		opts: deploy.ChartOptions{Set: []string{"autoscaling.customMetric.enabled=true", "autoscaling.customMetric.targetAverageValue=8", "autoscaling.maxReplicas=20"}},
		check: func(t *testing.T, r *rendered) {
			if r.hpa == nil || len(r.hpa.Spec.Metrics) != 2 {
				t.Fatalf("want CPU and a pods metric, got %+v", r.hpa)
			}
			m := r.hpa.Spec.Metrics[1]
			if m.Type != autoscalingv2.PodsMetricSourceType || m.Pods == nil || m.Pods.Metric.Name != "switchboard_turns_per_second" ||
				m.Pods.Target.Type != autoscalingv2.AverageValueMetricType || m.Pods.Target.AverageValue.String() != "8" {
				t.Errorf("pods metric %+v", m)
			}
			if r.hpa.Spec.MaxReplicas != 20 {
				t.Errorf("maxReplicas %d", r.hpa.Spec.MaxReplicas)
			}
		},
	}, {
		name: "autoscaling off",
		opts: deploy.ChartOptions{Set: []string{"autoscaling.enabled=false", "replicaCount=3", "podDisruptionBudget.maxUnavailable=", "podDisruptionBudget.minAvailable=2"}},
		check: func(t *testing.T, r *rendered) {
			if r.hpa != nil {
				t.Error("an HPA with autoscaling off")
			}
			if r.deployment.Spec.Replicas == nil || *r.deployment.Spec.Replicas != 3 {
				t.Errorf("replicas %v, want 3", r.deployment.Spec.Replicas)
			}
			if r.pdb.Spec.MinAvailable == nil || r.pdb.Spec.MinAvailable.IntValue() != 2 || r.pdb.Spec.MaxUnavailable != nil {
				t.Errorf("PDB %+v, want minAvailable 2", r.pdb.Spec)
			}
		},
	}, {
		name: "existing secret and key ring",
		values: `
existingSecret: switchboard-env
keyRing: {existingSecret: switchboard-keyring}
image: {repository: registry.example.com/switchboard, tag: slim, pullPolicy: Always}
`,
		check: func(t *testing.T, r *rendered) {
			if len(r.secrets) != 0 {
				t.Errorf("with existingSecret the chart renders no Secret, got %v", kinds(r))
			}
			c := r.deployment.Spec.Template.Spec.Containers[0]
			if c.EnvFrom[1].SecretRef.Name != "switchboard-env" {
				t.Errorf("the pods read Secret %q", c.EnvFrom[1].SecretRef.Name)
			}
			if c.Image != "registry.example.com/switchboard:slim" || c.ImagePullPolicy != corev1.PullAlways {
				t.Errorf("image %q %s", c.Image, c.ImagePullPolicy)
			}
			j := r.jobs["switchboard-migrate"]
			if j == nil || j.Spec.Template.Spec.Containers[0].EnvFrom[1].SecretRef.Name != "switchboard-env" {
				t.Fatalf("the migration Job must run, on the existing Secret: %v", kinds(r))
			}
			file := r.configMaps["switchboard"].Data["SWITCHBOARD_SECURITY_KEY_RING_FILE"]
			for what, pod := range map[string]corev1.PodSpec{"Deployment": r.deployment.Spec.Template.Spec, "Job": j.Spec.Template.Spec} {
				m := mount(pod.Containers[0], "keyring")
				v := volume(pod, "keyring")
				if m == nil || !m.ReadOnly || v == nil || v.Secret == nil || v.Secret.SecretName != "switchboard-keyring" || file != m.MountPath+"/keyring.json" {
					t.Errorf("%s: the key ring %q is not the Secret mounted read-only: %+v %+v", what, file, m, v)
				}
			}
		},
	}, {
		name:   "one replica, JWT secret generated",
		bare:   true,
		opts:   deploy.ChartOptions{Set: []string{"autoscaling.enabled=false", "replicaCount=1"}},
		values: `secrets: {postgres: {dsn: "postgres://app@db/sb"}}`,
		check: func(t *testing.T, r *rendered) {
			if got := secretEnv(r.secrets["switchboard"])["SWITCHBOARD_JWT_SECRET"]; len(got) != 48 {
				t.Errorf("want a generated 48-character JWT secret, got %d characters", len(got))
			}
		},
	}, {
		name: "admin listener and HTTPS",
		values: `
config:
  http:
    admin_addr: ":9100"
    tls_cert_file: /etc/switchboard/tls/tls.crt
    tls_key_file: /etc/switchboard/tls/tls.key
extraVolumes: [{name: tls, secret: {secretName: switchboard-tls}}]
extraVolumeMounts: [{name: tls, mountPath: /etc/switchboard/tls, readOnly: true}]
serviceMonitor: {tlsConfig: {serverName: chat.example.com}}
`,
		check: func(t *testing.T, r *rendered) {
			c := r.deployment.Spec.Template.Spec.Containers[0]
			if containerPort(c, "metrics") != 9100 || servicePort(r.service, "metrics") == nil {
				t.Errorf("the admin listener's port is not exposed: %+v %+v", c.Ports, r.service.Spec.Ports)
			}
			// The admin listener is plain HTTP whatever http.tls_cert_file says.
			if ep := r.serviceMonitor.Spec.Endpoints[0]; ep.Port != "metrics" || ep.Scheme != "http" || ep.TLSConfig != nil {
				t.Errorf("the ServiceMonitor scrapes %+v, want plain http on metrics", ep)
			}
			for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
				if p.HTTPGet.Scheme != corev1.URISchemeHTTPS {
					t.Errorf("probe %s over %s, want HTTPS", p.HTTPGet.Path, p.HTTPGet.Scheme)
				}
			}
			if mount(c, "tls") == nil || volume(r.deployment.Spec.Template.Spec, "tls") == nil {
				t.Error("the extra TLS volume is not mounted")
			}
			if len(r.netpol.Spec.Ingress) != 2 {
				t.Errorf("want NetworkPolicy rules for http and metrics, got %+v", r.netpol.Spec.Ingress)
			}
		},
	}, {
		name: "HTTPS, metrics on the API port",
		values: `
config:
  http:
    admin_addr: ""
    tls_cert_file: /etc/switchboard/tls/tls.crt
    tls_key_file: /etc/switchboard/tls/tls.key
extraVolumes: [{name: tls, secret: {secretName: switchboard-tls}}]
extraVolumeMounts: [{name: tls, mountPath: /etc/switchboard/tls, readOnly: true}]
serviceMonitor: {tlsConfig: {serverName: chat.example.com, ca: {secret: {name: chat-ca, key: ca.crt}}}}
`,
		check: func(t *testing.T, r *rendered) {
			c := r.deployment.Spec.Template.Spec.Containers[0]
			if containerPort(c, "metrics") != 0 || servicePort(r.service, "metrics") != nil {
				t.Errorf("a metrics port without an admin listener: %+v %+v", c.Ports, r.service.Spec.Ports)
			}
			ep := r.serviceMonitor.Spec.Endpoints[0]
			wantTLS := map[string]any{"serverName": "chat.example.com", "ca": map[string]any{"secret": map[string]any{"name": "chat-ca", "key": "ca.crt"}}}
			if ep.Port != "http" || ep.Scheme != "https" {
				t.Errorf("the ServiceMonitor scrapes %+v, want https on http", ep)
			}
			if diff := cmp.Diff(wantTLS, ep.TLSConfig); diff != "" {
				t.Errorf("tlsConfig (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "no Prometheus Operator",
		opts: deploy.ChartOptions{SkipDefaults: true, Set: []string{"networkPolicy.egress[0].to[0].ipBlock.cidr=10.0.0.0/8"}},
		check: func(t *testing.T, r *rendered) {
			if r.serviceMonitor != nil || r.rule != nil {
				t.Errorf("ServiceMonitor or PrometheusRule on a cluster without %s: %v", deploy.MonitoringAPI, kinds(r))
			}
			np := r.netpol.Spec
			if len(np.PolicyTypes) != 2 || len(np.Egress) != 2 || np.Egress[1].To[0].IPBlock.CIDR != "10.0.0.0/8" {
				t.Errorf("egress %+v", np)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if !tt.bare {
				o = withRequired(t, o)
			}
			r := render(t, o, tt.values)
			checkCommon(t, r)
			tt.check(t, r)
		})
	}
}

// TestChartRefuses checks that values the server would refuse, or that would leak a
// secret into the ConfigMap, fail the rendering with a message naming the value.
func TestChartRefuses(t *testing.T) {
	const dsnOnly = `secrets: {postgres: {dsn: "postgres://app@db/sb"}}`
	tests := []struct {
		name   string
		set    []string
		want   string
		values string // instead of requiredValues
	}{
		{"unknown key", []string{"config.http.adr=:8080"}, "config.http.adr is not a key of docs/configuration.md", ""},
		{"secret in the ConfigMap", []string{"config.postgres.dsn=postgres://x"}, "config.postgres.dsn is a secret: set it under secrets.postgres.dsn", ""},
		{"key set twice", []string{"config.log.level=debug", "secrets.log.level=info"}, "SWITCHBOARD_LOG_LEVEL is set both under config and under secrets", ""},
		{"port mismatch", []string{"config.http.addr=:9000"}, `config.http.addr ":9000" must end in :8080`, ""},
		{"admin listener on loopback", []string{"config.http.admin_addr=127.0.0.1:9090"}, "give a port Prometheus can reach", ""},
		{"both PDB bounds", []string{"podDisruptionBudget.minAvailable=1"}, "set minAvailable or maxUnavailable, not both", ""},
		{"Redis Cluster without a shared key ring", []string{"config.redis.cluster_addrs={r0:6379,r1:6379}"}, "every replica must use the same key ring",
			`{replicaCount: 1, autoscaling: {enabled: false}, secrets: {postgres: {dsn: "postgres://a@db/sb"}}}`},
		{"two replicas without a shared key ring", nil, "every replica must use the same key ring",
			`{secrets: {postgres: {dsn: "postgres://a@db/sb"}, auth: {jwt_secret: 0123456789abcdef0123456789abcdef}}, config: {redis: {addr: "redis:6379"}}}`},
		{"two replicas, each with a Redis of its own", nil, "every pod must route through the same Redis",
			`{secrets: {postgres: {dsn: "postgres://a@db/sb"}, auth: {jwt_secret: 0123456789abcdef0123456789abcdef}}, keyRing: {existingSecret: kr}}`},
		{"misspelt chart value", []string{"autoscalling.enabled=false"}, "autoscalling", ""},
		{"wrong type", []string{"replicaCount=two"}, "replicaCount", ""},
		{"key ring twice", []string{"keyRing.existingSecret=kr", "config.security.key_ring_file=/x"}, "config.security.key_ring_file and keyRing.existingSecret", ""},
		{"no PostgreSQL", nil, "set secrets.postgres.dsn (or existingSecret", `secrets: {auth: {jwt_secret: 0123456789abcdef0123456789abcdef}}`},
		{"no JWT secret with two replicas", []string{"autoscaling.enabled=false", "replicaCount=2"}, "set secrets.auth.jwt_secret", dsnOnly},
		{"no JWT secret with autoscaling", []string{"replicaCount=1"}, "set secrets.auth.jwt_secret", dsnOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := deploy.ChartOptions{Set: tt.set}
			if tt.values == "" {
				o = withRequired(t, o)
			}
			_, err := renderErr(t, o, tt.values)
			if !errors.Is(err, deploy.ErrRender) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestChartLint runs Helm's linter (strict: warnings count) on the default values and
// on the external-services set.
func TestChartLint(t *testing.T) {
	if err := deploy.LintChart(withRequired(t, deploy.ChartOptions{ChartDir: chartDir})); err != nil {
		t.Error(err)
	}
	if err := deploy.LintChart(deploy.ChartOptions{ChartDir: chartDir, Set: []string{"replicaCount=1", "autoscaling.enabled=false"}, SetJSON: []string{`secrets={"postgres":{"dsn":"postgres://a@b/c"}}`}}); err != nil {
		t.Error(err)
	}
}

// TestChartSecretChecksum checks the pods' checksum/secret annotation: it changes with
// any secret value (so the pods roll), stays put for the same values, and is not a hash
// of the values alone: with a generated JWT secret the same values give another one, so
// a reader of the pod spec cannot confirm a guessed DSN or password by hashing it.
func TestChartSecretChecksum(t *testing.T) {
	checksum := func(t *testing.T, values string) string {
		t.Helper()
		r := render(t, deploy.ChartOptions{}, values)
		sum := r.deployment.Spec.Template.Annotations["checksum/secret"]
		if len(sum) != 64 {
			t.Fatalf("checksum/secret %q is not a sha256", sum)
		}
		return sum
	}
	base := checksum(t, requiredValues)
	if again := checksum(t, requiredValues); again != base {
		t.Errorf("the same secrets give another checksum (%s, then %s): pods would roll for nothing", base, again)
	}
	if other := checksum(t, strings.Replace(requiredValues, "app-pw", "new-pw", 1)); other == base {
		t.Error("a new DSN leaves the checksum as it was: the pods would not roll")
	}
	if one, two := checksum(t, oneReplicaValues), checksum(t, oneReplicaValues); one == two {
		t.Errorf("with a generated JWT secret two renderings of the same values give the checksum %s: it hashes the values alone, unsalted", one)
	}
}
