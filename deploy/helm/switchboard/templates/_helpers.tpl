{{/* Names and labels. */}}
{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The serving pods: what the Deployment, Service, PDB and NetworkPolicy select. The
migration Job's pods carry component: migration instead, so none of them matches those. */}}
{{- define "switchboard.serverSelectorLabels" -}}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "switchboard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchboard
{{- end }}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "switchboard.image" -}}
{{- printf "%s:%s" .Values.image.repository (toString (default .Chart.AppVersion .Values.image.tag)) }}
{{- end }}

{{/* Ports: http from containerPort (config.http.addr must agree); metrics on the admin
listener's port when config.http.admin_addr is set, else on http. */}}
{{- define "switchboard.httpPort" -}}
{{- $addr := toString (dig "http" "addr" "" .Values.config) }}
{{- if and $addr (not (hasSuffix (printf ":%v" .Values.containerPort) $addr)) }}
{{- fail (printf "config.http.addr %q must end in :%v (containerPort)" $addr .Values.containerPort) }}
{{- end }}
{{- .Values.containerPort }}
{{- end }}

{{- define "switchboard.adminPort" -}}
{{- $addr := toString (dig "http" "admin_addr" "" .Values.config) }}
{{- if $addr }}
{{- $port := regexFind "[0-9]+$" $addr }}
{{- if or (not $port) (hasPrefix "127." $addr) (hasPrefix "localhost:" $addr) (hasPrefix "[::1]" $addr) }}
{{- fail (printf "config.http.admin_addr %q: give a port Prometheus can reach (e.g. :9090)" $addr) }}
{{- end }}
{{- $port }}
{{- end }}
{{- end }}

{{- define "switchboard.metricsPortName" -}}
{{- if include "switchboard.adminPort" . }}metrics{{ else }}http{{ end }}
{{- end }}

{{- define "switchboard.scheme" -}}
{{- if dig "http" "tls_cert_file" "" .Values.config }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* The scheme Prometheus scrapes with: the admin listener is always plain HTTP (TLS
applies to http.addr only); without it, the API port's. */}}
{{- define "switchboard.metricsScheme" -}}
{{- if include "switchboard.adminPort" . }}http{{ else }}{{ include "switchboard.scheme" . | lower }}{{ end }}
{{- end }}

{{- define "switchboard.dataDir" -}}
{{- default .Values.dataDir (dig "data_dir" "" .Values.config) }}
{{- end }}

{{- define "switchboard.keyRingDir" -}}/etc/switchboard/keyring{{- end }}

{{/*
Values the chart cannot run without. The image has no PostgreSQL server, so an external
one is required (secrets.postgres.dsn, or SWITCHBOARD_PG_DSN in existingSecret). A JWT
secret generated here would differ between renderings (helm template, GitOps tools: lookup
finds nothing there), so pods started from a later rendering would reject the tokens of
the others: with more than one replica it must be given.
*/}}
{{- define "switchboard.checkRequired" -}}
{{- if not (or .Values.existingSecret (dig "postgres" "dsn" "" .Values.secrets)) }}
{{- fail "set secrets.postgres.dsn (or existingSecret with SWITCHBOARD_PG_DSN): the image has no PostgreSQL server, so the chart needs an external PostgreSQL" }}
{{- end }}
{{- if and (not .Values.existingSecret) (not (dig "auth" "jwt_secret" "" .Values.secrets)) (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) }}
{{- fail "set secrets.auth.jwt_secret (at least 32 bytes, or existingSecret with SWITCHBOARD_JWT_SECRET): with autoscaling or more than one replica every pod must share it, and a generated one changes with every rendering" }}
{{- end }}
{{- end }}

{{/*
The documented keys (files/config-keys.yaml, generated from docs/configuration.md):
key → {env, secret}.
*/}}
{{- define "switchboard.keys" -}}
{{- .Files.Get "files/config-keys.yaml" }}
{{- end }}

{{/*
switchboard.walk puts the SWITCHBOARD_… variable of every key set under .node (values in
the config file's shape) into .out, failing on an unknown key and, under config, on a
secret one.
*/}}
{{- define "switchboard.walk" -}}
{{- range $k, $v := .node }}
{{- $key := ternary $k (printf "%s.%s" $.prefix $k) (eq $.prefix "") }}
{{- $entry := get $.keys $key }}
{{- if $entry }}
{{- if and $entry.secret (eq $.section "config") }}
{{- fail (printf "config.%s is a secret: set it under secrets.%s (or as %s in existingSecret)" $key $key $entry.env) }}
{{- end }}
{{- if not (kindIs "invalid" $v) }}
{{- $_ := set $.out $entry.env (include "switchboard.envValue" $v) }}
{{- end }}
{{- else if kindIs "map" $v }}
{{- include "switchboard.walk" (dict "keys" $.keys "prefix" $key "node" $v "out" $.out "section" $.section) }}
{{- else }}
{{- fail (printf "%s.%s is not a key of docs/configuration.md" $.section $key) }}
{{- end }}
{{- end }}
{{- end }}

{{/* A value as its environment variable holds it: lists comma-separated, maps as JSON. */}}
{{- define "switchboard.envValue" -}}
{{- if kindIs "slice" . }}
{{- join "," . }}
{{- else if kindIs "map" . }}
{{- toJson . }}
{{- else if and (kindIs "float64" .) (eq . (floor .)) }}
{{- int64 . }}
{{- else }}
{{- . }}
{{- end }}
{{- end }}

{{/* The ConfigMap's variables, as YAML: config plus the chart's own settings. */}}
{{- define "switchboard.configEnv" -}}
{{- include "switchboard.checkRequired" . }}
{{- include "switchboard.checkShared" . }}
{{- $keys := include "switchboard.keys" . | fromYaml }}
{{- $out := dict }}
{{- include "switchboard.walk" (dict "keys" $keys "prefix" "" "node" .Values.config "out" $out "section" "config") }}
{{- $_ := set $out "SWITCHBOARD_DATA_DIR" (include "switchboard.dataDir" .) }}
{{- $_ := set $out "SWITCHBOARD_HTTP_ADDR" (default (printf ":%s" (include "switchboard.httpPort" .)) (get $out "SWITCHBOARD_HTTP_ADDR")) }}
{{- if .Values.keyRing.existingSecret }}
{{- if hasKey $out "SWITCHBOARD_SECURITY_KEY_RING_FILE" }}
{{- fail "config.security.key_ring_file and keyRing.existingSecret: set one" }}
{{- end }}
{{- $_ := set $out "SWITCHBOARD_SECURITY_KEY_RING_FILE" (printf "%s/%s" (include "switchboard.keyRingDir" .) .Values.keyRing.key) }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
Replicas sharing the data (more than one pod, autoscaling, a read replica or a Redis
Cluster; `serve` checks the last two) must share one key ring, which is never created
then: refuse to render without one. More than one pod also needs a shared Redis: without
redis.addr or redis.cluster_addrs each pod would route with an in-process Redis of its own.
*/}}
{{- define "switchboard.checkShared" -}}
{{- $redis := or (dig "redis" "cluster_addrs" (list) .Values.config) (dig "redis" "addr" "" .Values.config) }}
{{- $several := or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}
{{- $shared := or $several (dig "redis" "cluster_addrs" (list) .Values.config) (dig "postgres" "replica_dsn" "" .Values.secrets) }}
{{- if and $several (not $redis) }}
{{- fail "set config.redis.addr or config.redis.cluster_addrs: with autoscaling or more than one replica every pod must route through the same Redis" }}
{{- end }}
{{- if and $shared (not .Values.keyRing.existingSecret) (not (dig "security" "key_ring_file" "" .Values.config)) }}
{{- fail "with autoscaling, more than one replica, redis.cluster_addrs or postgres.replica_dsn every replica must use the same key ring: put it in a Secret and set keyRing.existingSecret (or mount it and set config.security.key_ring_file)" }}
{{- end }}
{{- end }}

{{/*
The Secret's variables, as YAML. With owner: true (the migration Job's copy) it keeps
postgres.owner_dsn, which the serving pods never get. A JWT secret is generated when none
is given (one replica only: checkRequired), kept across upgrades of a live release, and
the same for every use within one rendering (the Secret and its checksum).
*/}}
{{- define "switchboard.secretEnv" -}}
{{- $root := .root }}
{{- $keys := include "switchboard.keys" $root | fromYaml }}
{{- $out := dict }}
{{- include "switchboard.walk" (dict "keys" $keys "prefix" "" "node" $root.Values.secrets "out" $out "section" "secrets") }}
{{- $config := include "switchboard.configEnv" $root | fromYaml }}
{{- range $name, $_ := $out }}
{{- if hasKey $config $name }}
{{- fail (printf "%s is set both under config and under secrets" $name) }}
{{- end }}
{{- end }}
{{- if not .owner }}
{{- $_ := unset $out "SWITCHBOARD_PG_OWNER_DSN" }}
{{- if not (get $out "SWITCHBOARD_JWT_SECRET") }}
{{- $previous := lookup "v1" "Secret" $root.Release.Namespace (include "switchboard.fullname" $root) }}
{{- $kept := "" }}
{{- if $previous }}
{{- $kept = get $previous.data "SWITCHBOARD_JWT_SECRET" | b64dec }}
{{- end }}
{{- if not (hasKey $root "switchboardJWTSecret") }}
{{- $_ := set $root "switchboardJWTSecret" (default (randAlphaNum 48) $kept) }}
{{- end }}
{{- $_ := set $out "SWITCHBOARD_JWT_SECRET" (get $root "switchboardJWTSecret") }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* Environment from the ConfigMap (name) and the Secret (chart's or existing). */}}
{{- define "switchboard.envFrom" -}}
- configMapRef:
    name: {{ .configMap }}
- secretRef:
    name: {{ .secret }}
{{- end }}

{{- define "switchboard.volumeMounts" -}}
- name: data
  mountPath: {{ include "switchboard.dataDir" . }}
- name: tmp
  mountPath: /tmp
{{- if .Values.keyRing.existingSecret }}
- name: keyring
  mountPath: {{ include "switchboard.keyRingDir" . }}
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "switchboard.volumes" -}}
- name: data
  emptyDir: {{ if .Values.dataVolume.sizeLimit }}{sizeLimit: {{ .Values.dataVolume.sizeLimit }}}{{ else }}{}{{ end }}
- name: tmp
  emptyDir: {{ if .Values.tmpVolume.sizeLimit }}{sizeLimit: {{ .Values.tmpVolume.sizeLimit }}}{{ else }}{}{{ end }}
{{- if .Values.keyRing.existingSecret }}
- name: keyring
  secret:
    secretName: {{ .Values.keyRing.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.keyRing.key }}
        path: {{ .Values.keyRing.key }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
