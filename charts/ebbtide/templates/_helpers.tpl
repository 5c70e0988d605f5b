{{/*
Names, labels and the pieces every pod template shares.
*/}}

{{- define "ebbtide.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's base name; component objects append "-<component>". Kept to 40 characters so the
longest suffix ("-operator-metrics", "-webhook-ca-issuer") still fits 63.
*/}}
{{- define "ebbtide.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ebbtide.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The recommended labels. Call with (dict "ctx" $ "component" "operator").
*/}}
{{- define "ebbtide.labels" -}}
helm.sh/chart: {{ include "ebbtide.chart" .ctx }}
{{ include "ebbtide.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: ebbtide
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "ebbtide.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ebbtide.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "ebbtide.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "ebbtide.operatorName" -}}
{{- printf "%s-operator" (include "ebbtide.fullname" .) }}
{{- end }}

{{- define "ebbtide.schedulerName" -}}
{{- printf "%s-scheduler" (include "ebbtide.fullname" .) }}
{{- end }}

{{- define "ebbtide.extenderName" -}}
{{- printf "%s-extender" (include "ebbtide.fullname" .) }}
{{- end }}

{{- define "ebbtide.webhookServiceName" -}}
{{- printf "%s-webhook" (include "ebbtide.fullname" .) }}
{{- end }}

{{- define "ebbtide.webhookSecretName" -}}
{{- printf "%s-webhook-tls" (include "ebbtide.fullname" .) }}
{{- end }}

{{- define "ebbtide.peeringName" -}}
{{- default (include "ebbtide.operatorName" .) .Values.operator.peering.name }}
{{- end }}

{{/* The Lease the fair-queue engine's replicas elect their leader on: the code's LEASE_NAME
(ebbtide.controllers.fairqueue.leadership), in the release namespace. */}}
{{- define "ebbtide.fairQueueLeaseName" -}}
ebbtide-fair-queue
{{- end }}

{{/* "true" when the operator runs the controller named by .controller. */}}
{{- define "ebbtide.runs" -}}
{{- if has .controller .ctx.Values.operator.controllers }}true{{ end }}
{{- end }}

{{/*
The restricted Pod Security Standard, for the pod and for each container.
*/}}
{{- define "ebbtide.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsGroup }}
fsGroup: {{ .Values.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "ebbtide.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Spread replicas over nodes unless the user gave an affinity.
Call with (dict "ctx" $ "component" "operator" "affinity" .Values.operator.affinity).
*/}}
{{- define "ebbtide.affinity" -}}
{{- if .affinity }}
{{- toYaml .affinity }}
{{- else }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "ebbtide.selectorLabels" . | nindent 12 }}
{{- end }}
{{- end }}
