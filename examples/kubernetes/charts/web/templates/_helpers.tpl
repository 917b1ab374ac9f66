{{/* The name of every object: the release name. */}}
{{- define "web.name" -}}
{{ .Release.Name }}
{{- end }}

{{/* Labels on every object, and the pod selector. */}}
{{- define "web.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
