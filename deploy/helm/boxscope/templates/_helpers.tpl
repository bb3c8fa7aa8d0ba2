{{/* The chart name, or nameOverride. */}}
{{- define "boxscope.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, else the release name, with "-<name>"
appended unless the release name already contains it. Kept to 57 characters so the "-index"
suffix still fits the 63 characters of a label value.
*/}}
{{- define "boxscope.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 57 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 57 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 57 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "boxscope.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "boxscope.labels" -}}
app.kubernetes.io/name: {{ include "boxscope.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "boxscope.releaseLabels" . }}
{{- end }}

{{/* The labels beside the selector labels: chart, version, manager. */}}
{{- define "boxscope.releaseLabels" -}}
helm.sh/chart: {{ include "boxscope.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels of one workload: (dict "ctx" $ "component" "up"|"index"). The component keeps the
DaemonSet's and the Deployment's selectors (and their Services) apart.
*/}}
{{- define "boxscope.selectorLabels" -}}
app.kubernetes.io/name: {{ include "boxscope.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "boxscope.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The exporter's port, from config.exporter.listen (HOST:PORT). The kubelet probes and Prometheus
scrapes the node's address (hostNetwork), so a loopback listen address is an error here.
*/}}
{{- define "boxscope.metricsPort" -}}
{{- $listen := toString (dig "exporter" "listen" "" (.Values.config | default dict)) }}
{{- if not (regexMatch "^(\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]\\s]+):[0-9]{1,5}$" $listen) }}
{{- fail (printf "config.exporter.listen must be HOST:PORT (e.g. 0.0.0.0:9464), got %q" $listen) }}
{{- end }}
{{- if regexMatch "^(127\\.|localhost:|\\[::1\\]:)" $listen }}
{{- fail (printf "config.exporter.listen %q is loopback: the kubelet's probes and Prometheus reach the pod on the node's address; use 0.0.0.0:PORT" $listen) }}
{{- end }}
{{- regexFind "[0-9]+$" $listen }}
{{- end }}

{{/*
boxscope.yaml: .Values.config with every key naming a host path set from .Values.hostPaths, so the
paths the code uses are the paths the DaemonSet mounts. A config value that disagrees with
hostPaths is an error rather than silently overridden. The ship section gets its paths only when
it is configured: `up` ships only when ship.brokers is set.
*/}}
{{- define "boxscope.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $hp := .Values.hostPaths }}
{{- $logRoot := trimSuffix "/" $hp.logRoot }}
{{- $spool := printf "%s/spool" (trimSuffix "/" $hp.run) }}
{{- $trees := dict "podLogRoot" (trimSuffix "/" $hp.podLogs) }}
{{- if $hp.dockerLogs }}
{{- $_ := set $trees "dockerLogRoot" (trimSuffix "/" $hp.dockerLogs) }}
{{- end }}
{{- $paths := dict
      "shim" (dict "mountpoint" (trimSuffix "/" $hp.views))
      "exporter" (dict "logRoot" $logRoot)
      "logwatcher" (merge (dict "logRoot" $logRoot "spool" $spool) $trees) }}
{{- if get $cfg "ship" }}
{{- $_ := set $paths "ship" (merge (dict "logRoot" $logRoot "spool" $spool "positions" (printf "%s/positions.json" (trimSuffix "/" $hp.positions))) $trees) }}
{{- end }}
{{- range $section, $keys := $paths }}
{{- $s := get $cfg $section | default dict }}
{{- range $key, $value := $keys }}
{{- if and (hasKey $s $key) (ne (toString (get $s $key)) $value) }}
{{- fail (printf "config.%s.%s is %q but hostPaths makes it %q: set host paths under hostPaths, not in config" $section $key (toString (get $s $key)) $value) }}
{{- end }}
{{- $_ := set $s $key $value }}
{{- end }}
{{- $_ := set $cfg $section $s }}
{{- end }}
{{- include "boxscope.runtimeSocketProbes" (dict "cfg" $cfg "values" .Values) }}
{{- toYaml $cfg }}
{{- end }}

{{/* Where the DaemonSet mounts runtimeSockets.hostRun in the container. */}}
{{- define "boxscope.runtimeSocketsMountPath" -}}
/host/run
{{- end }}

{{/*
With runtimeSockets.enabled, points the built-in dockerd/containerd/crio probes at their sockets
below the mount, in .cfg.exporter.keyProcesses (changed in place; .cfg is the chart's copy). A
user's entry of the same name keeps its fields: it gets the chart's socket only when its probe is
not `false`, sets no `socket`, and keeps the built-in probe's kind (another kind starts afresh in
boxscope, where a grpc socket is no http socket). Nothing is added when the built-in list is off
(builtinKeyProcesses: false), where an entry without a pattern would be an error.
*/}}
{{- define "boxscope.runtimeSocketProbes" -}}
{{- $rs := .values.runtimeSockets }}
{{- $exporter := get .cfg "exporter" }}
{{- if and $rs.enabled (ne (toString (get $exporter "builtinKeyProcesses")) "false") }}
{{- $mount := include "boxscope.runtimeSocketsMountPath" . }}
{{- $kinds := dict "dockerd" "http" "containerd" "grpc" "crio" "http" }}
{{- $sockets := dict }}
{{- range $name := list "dockerd" "containerd" "crio" }}
{{- $rel := toString (get ($rs.sockets | default dict) $name) }}
{{- if $rel }}
{{- $_ := set $sockets $name (printf "%s/%s" $mount (trimPrefix "/" $rel)) }}
{{- end }}
{{- end }}
{{- $out := list }}
{{- $named := dict }}
{{- range $entry := (get $exporter "keyProcesses" | default list) }}
{{- if and (kindIs "map" $entry) (hasKey $sockets (toString (get $entry "name"))) }}
{{- $name := toString (get $entry "name") }}
{{- $_ := set $named $name true }}
{{- if not (hasKey $entry "probe") }}
{{- $_ := set $entry "probe" (dict "socket" (get $sockets $name)) }}
{{- else if kindIs "map" $entry.probe }}
{{- $kind := toString (get $entry.probe "kind" | default (get $kinds $name)) }}
{{- if and (not (hasKey $entry.probe "socket")) (eq $kind (get $kinds $name)) }}
{{- $_ := set $entry.probe "socket" (get $sockets $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- $out = append $out $entry }}
{{- end }}
{{- range $name := list "dockerd" "containerd" "crio" }}
{{- if and (hasKey $sockets $name) (not (hasKey $named $name)) }}
{{- $out = append $out (dict "name" $name "probe" (dict "socket" (get $sockets $name))) }}
{{- end }}
{{- end }}
{{- $_ := set $exporter "keyProcesses" $out }}
{{- end }}
{{- end }}
