{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "etcd-monitor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "etcd-monitor.fullname" -}}
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

{{- define "etcd-monitor.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "etcd-monitor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "etcd-monitor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "etcd-monitor.labels" -}}
helm.sh/chart: {{ include "etcd-monitor.chart" . }}
{{ include "etcd-monitor.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: etcd-monitor
{{- end }}

{{- define "etcd-monitor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "etcd-monitor.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "etcd-monitor.leaderElect" -}}
{{- if kindIs "bool" .Values.operator.leaderElect }}{{ .Values.operator.leaderElect }}{{ else if .Values.sharding.enabled }}{{ gt (int .Values.sharding.replicasPerShard) 1 }}{{ else }}{{ gt (int .Values.replicaCount) 1 }}{{ end }}
{{- end }}

{{- define "etcd-monitor.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- /* The PersistentVolumeClaim of the backup volume: backup.persistence.existingClaim, or the chart's own. */}}
{{- define "etcd-monitor.backupClaimName" -}}
{{- default (printf "%s-backups" (include "etcd-monitor.fullname" .)) .Values.backup.persistence.existingClaim }}
{{- end }}
