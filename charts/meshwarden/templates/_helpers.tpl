{{/* The objects' name: fullnameOverride, else the release name with "-meshwarden" unless it has it. */}}
{{- define "meshwarden.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "meshwarden" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-meshwarden" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "meshwarden.selectorLabels" -}}
app.kubernetes.io/name: meshwarden
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "meshwarden.labels" -}}
app.kubernetes.io/name: meshwarden
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: meshwarden
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret the pods mount at /etc/meshwarden/tls (tls.crt, tls.key). */}}
{{- define "meshwarden.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "secret" -}}
{{- .Values.certificates.secret.name -}}
{{- else -}}
{{- include "meshwarden.fullname" . }}-tls
{{- end -}}
{{- end -}}

{{/* The DNS name the API server connects to; the serving certificate must carry it. */}}
{{- define "meshwarden.serviceHost" -}}
{{- printf "%s.%s.svc" (include "meshwarden.fullname" .) .Release.Namespace -}}
{{- end -}}
