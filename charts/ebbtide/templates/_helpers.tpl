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

{{- /*
Where the webhook's certificate comes from: webhook.certificate.source, or certManager when the
older webhook.certManager.enabled says so. Values without a source were written for a chart that
had none (`helm upgrade --reuse-values` keeps the old values, not this chart's defaults): they
keep that chart's Helm-generated certificate rather than switch on an upgrade.
*/}}
{{- define "ebbtide.webhookCertificateSource" -}}
{{- if .Values.webhook.certManager.enabled }}certManager{{ else }}{{ .Values.webhook.certificate.source | default "helm" }}{{ end }}
{{- end }}

{{- /*
The Secret of the webhook's certificate. The operator's has a name of its own: it is an Opaque
Secret (created empty), and a Secret's type cannot change, so switching an installed release
from helm or certManager to operator replaces the kubernetes.io/tls Secret instead.
*/}}
{{- define "ebbtide.webhookSecretName" -}}
{{- if eq (include "ebbtide.webhookCertificateSource" .) "operator" }}
{{- printf "%s-webhook-certs" (include "ebbtide.fullname" .) }}
{{- else }}
{{- printf "%s-webhook-tls" (include "ebbtide.fullname" .) }}
{{- end }}
{{- end }}

{{- /* The names the API server calls the webhook Service by (the serving certificate's). */}}
{{- define "ebbtide.webhookDNSNames" -}}
{{- $service := include "ebbtide.webhookServiceName" . }}
{{- toJson (list $service (printf "%s.%s" $service .Release.Namespace) (printf "%s.%s.svc" $service .Release.Namespace)) }}
{{- end }}

{{- define "ebbtide.webhookConfigurationName" -}}
{{- printf "%s-fairqueue" (include "ebbtide.fullname" .) }}
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

{{- /*
"true" when the chart renders the CRD named .name (in a dict with the root context as .ctx).
crds.install true: always; false: never; "auto": unless the CRD exists and is not this
release's (applied with `kubectl apply -f crds/`, or kept by another release), which Helm would
refuse to import. lookup sees nothing under `helm template` and client-side dry runs, so "auto"
renders the CRDs there, as true does.
*/}}
{{- define "ebbtide.rendersCrd" -}}
{{- $install := .ctx.Values.crds.install -}}
{{- if eq (toString $install) "auto" -}}
{{- $existing := lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" .name -}}
{{- $owner := list (dig "metadata" "annotations" "meta.helm.sh/release-name" "" $existing) (dig "metadata" "annotations" "meta.helm.sh/release-namespace" "" $existing) -}}
{{- if or (not $existing) (eq (join "/" $owner) (printf "%s/%s" .ctx.Release.Name .ctx.Release.Namespace)) -}}true{{- end -}}
{{- else if $install -}}true{{- end -}}
{{- end -}}

{{- /* The ebbtide CRDs crds.install "auto" leaves to someone else, space-separated. */}}
{{- define "ebbtide.crdsManagedElsewhere" -}}
{{- $names := list -}}
{{- range $path, $_ := .Files.Glob "files/crds/*.yaml" -}}
{{- $name := (fromYaml ($.Files.Get $path)).metadata.name -}}
{{- if and (eq (toString $.Values.crds.install) "auto") (not (include "ebbtide.rendersCrd" (dict "ctx" $ "name" $name))) -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- end -}}
{{- join " " $names -}}
{{- end -}}

{{- /*
The Secrets holding the Prometheus credentials of the operator and the extender, as a YAML list of
{name, secret: {name, key}, dir, file, flag}: each is mounted at dir and named by flag.
*/}}
{{- define "ebbtide.prometheusSecretVolumes" -}}
{{- $p := .Values.prometheus -}}
{{- $volumes := list -}}
{{- if $p.bearerTokenSecret.name -}}
{{- $volumes = append $volumes (dict "name" "prometheus-token" "secret" $p.bearerTokenSecret "dir" "/etc/ebbtide/prometheus/token" "file" "token" "flag" "--prometheus-bearer-token-file") -}}
{{- end -}}
{{- if ($p.basicAuth.passwordSecret).name -}}
{{- $volumes = append $volumes (dict "name" "prometheus-password" "secret" $p.basicAuth.passwordSecret "dir" "/etc/ebbtide/prometheus/password" "file" "password" "flag" "--prometheus-password-file") -}}
{{- end -}}
{{- if $p.caSecret.name -}}
{{- $volumes = append $volumes (dict "name" "prometheus-ca" "secret" $p.caSecret "dir" "/etc/ebbtide/prometheus/ca" "file" "ca.crt" "flag" "--prometheus-ca-file") -}}
{{- end -}}
{{- toYaml $volumes -}}
{{- end -}}

{{- /* The --prometheus-* credential options of the operator and the extender (a YAML list of arguments). */}}
{{- define "ebbtide.prometheusCredentialArgs" -}}
{{- $p := .Values.prometheus -}}
{{- $args := list -}}
{{- range $volume := include "ebbtide.prometheusSecretVolumes" . | fromYamlArray -}}
{{- $args = append $args (printf "%s=%s/%s" $volume.flag $volume.dir $volume.file) -}}
{{- end -}}
{{- with $p.basicAuth.username -}}
{{- $args = append $args (printf "--prometheus-username=%s" .) -}}
{{- end -}}
{{- range $name, $value := $p.headers -}}
{{- $args = append $args (printf "--prometheus-header=%s=%s" $name $value) -}}
{{- end -}}
{{- with $p.tenant -}}
{{- $args = append $args (printf "--prometheus-tenant=%s" .) -}}
{{- end -}}
{{- if $args -}}
{{- toYaml $args -}}
{{- end -}}
{{- end -}}
