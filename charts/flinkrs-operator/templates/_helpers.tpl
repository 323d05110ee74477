{{/* The release's full name, used for every object. */}}
{{- define "flinkrs-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "flinkrs-operator.serviceAccountName" -}}
{{- default (include "flinkrs-operator.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "flinkrs-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "flinkrs-operator.labels" -}}
{{ include "flinkrs-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The rules the operator needs on FlinkJobs and their children, in a watched namespace. */}}
{{- define "flinkrs-operator.rules" -}}
- apiGroups: ["flinkrs.dev"]
  resources: ["flinkjobs"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["flinkrs.dev"]
  resources: ["flinkjobs/status"]
  verbs: ["get", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "patch"]
# configmaps: delete clears a job's high-availability ConfigMap before a redeploy that must
# not recover from it (a savepoint, restoreFrom, stateless).
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# Read only: what keeps a job's pods from running goes into the FlinkJob's status.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list"]
{{- end -}}
