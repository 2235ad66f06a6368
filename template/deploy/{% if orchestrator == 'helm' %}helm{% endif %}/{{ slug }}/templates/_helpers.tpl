{{/*
Named templates shared by every manifest of the chart, in `helm create` style.
The names carry the fixed prefix "app." so the templates stay identical across generated charts.
*/}}

{{/*
Name of the chart, or nameOverride; at most 63 characters (a DNS-1123 label).
*/}}
{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name of the release's objects: the release name, plus the chart name unless the
release name already contains it; at most 63 characters.
*/}}
{{- define "app.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label: at most 63 characters, ending with a letter or
digit (cut at 63, "name-0.1.0" can end in "-0." otherwise, which the API server refuses).
*/}}
{{- define "app.chart" -}}
{{- regexReplaceAll "[-_.]+$" (printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63) "" }}
{{- end }}

{{/*
Labels of every object of the release.
*/}}
{{- define "app.labels" -}}
helm.sh/chart: {{ include "app.chart" . }}
{{ include "app.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels: the immutable subset the Deployment, Service and policies select the app's pods by.
*/}}
{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of the `helm test` pod: without the app's name label, so the Service never selects it.
*/}}
{{- define "app.testSelectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
{{- end }}

{{/*
Name of the ServiceAccount the app runs as.
*/}}
{{- define "app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "app.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The app's image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "app.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The app's environment: each `config` key from the ConfigMap, each `secretEnv` key from existingSecret.
*/}}
{{- define "app.env" -}}
{{- range $name, $_ := .Values.config }}
- name: {{ $name }}
  valueFrom:
    configMapKeyRef:
      name: {{ include "app.fullname" $ }}
      key: {{ $name }}
{{- end }}
{{- range .Values.secretEnv }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.existingSecret }}
      key: {{ . }}
{{- end }}
{{- end }}

{{/*
What mesh.provider asks of the app's pods, Service and NetworkPolicies: its entry in files/meshes.yaml
(the same needs the Kustomize overlays are rendered with), as YAML; empty without a mesh.
*/}}
{{- define "app.mesh" -}}
{{- $meshes := .Files.Get "files/meshes.yaml" | fromYaml -}}
{{- get $meshes .Values.mesh.provider | default dict | toYaml -}}
{{- end }}

{{/*
Labels that put a pod in the service mesh.
*/}}
{{- define "app.meshLabels" -}}
{{- with (include "app.mesh" . | fromYaml).podLabels }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
Annotations of the app's pods in the service mesh, and with mesh.strictMtls those of mutual TLS only.
*/}}
{{- define "app.meshAnnotations" -}}
{{- $mesh := include "app.mesh" . | fromYaml }}
{{- $annotations := merge (dict) ($mesh.podAnnotations | default dict) }}
{{- if .Values.mesh.strictMtls }}
{{- $annotations = merge $annotations ($mesh.strictPodAnnotations | default dict) }}
{{- end }}
{{- with $annotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
Annotations of the `helm test` pod in the service mesh: it joins the mesh (the app accepts mutual TLS
only) with a native sidecar, which stops when the test's container ends.
*/}}
{{- define "app.meshTestAnnotations" -}}
{{- with (include "app.mesh" . | fromYaml).testPodAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
NetworkPolicy ingress rules the mesh's sidecar needs on the app's pods.
*/}}
{{- define "app.meshIngress" -}}
{{- range (include "app.mesh" . | fromYaml).ingress }}
# {{ .why }}.
- from:
    - namespaceSelector: {}
  ports:
    - protocol: TCP
      port: {{ .port }}
{{- end }}
{{- end }}

{{/*
NetworkPolicy egress rules the mesh's sidecar needs (its control plane, meshed peers).
*/}}
{{- define "app.meshEgress" -}}
{{- range (include "app.mesh" . | fromYaml).egress }}
# {{ .why }}.
{{- if .namespace }}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .namespace }}
  ports:
{{- else }}
- ports:
{{- end }}
{{- range .ports }}
    - protocol: TCP
      port: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels of a development data-service instance; the argument is a dict of name, release and partOf.
*/}}
{{- define "app.devLabels" -}}
{{ include "app.devSelectorLabels" . }}
app.kubernetes.io/component: database
app.kubernetes.io/part-of: {{ .partOf }}
{{- end }}

{{/*
Selector labels of a development data-service instance (same argument as app.devLabels).
*/}}
{{- define "app.devSelectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .release }}
{{- end }}
