{{- /* kubetally test data, not upstream: the namespace helper of the newer upstream _helpers.tpl */ -}}
{{- define "podinfo.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}
