{{- define "shop.labels" -}}
app: {{ .Chart.Name }}
version: {{ .Chart.AppVersion | quote }}
{{- end }}
