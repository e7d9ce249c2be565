{{- define "dfp.fullname" -}}
{{- /* Room for the longest suffix ("-inference", "-secrets") within 63 characters. */ -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "dfp.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "dfp.secretName" -}}
{{- default (printf "%s-secrets" (include "dfp.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{/* Environment shared by both services. */}}
{{- define "dfp.env" -}}
- name: DFP_SOURCE
  value: {{ .Values.source | quote }}
- name: DFP_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: DFP_ML_BACKEND
  value: {{ .Values.mlBackend | quote }}
- name: DFP_TRACKING_URI
  value: {{ .Values.mlflow.trackingUri | quote }}
- name: DFP_CACHE_DIR
  value: /var/lib/dfp/cache
- name: DFP_HOST
  value: 0.0.0.0
{{- if .Values.kafka.bootstrapServers }}
- name: DFP_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
- name: DFP_INPUT_TOPIC
  value: {{ .Values.kafka.inputTopic | quote }}
{{- if .Values.kafka.tls }}
- name: DFP_KAFKA_SSL
  value: "true"
{{- end }}
{{- with .Values.kafka.sasl.mechanism }}
- name: DFP_KAFKA_SASL_MECHANISM
  value: {{ . | quote }}
{{- end }}
{{- with .Values.kafka.sasl.username }}
- name: DFP_KAFKA_SASL_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- /* Optional secrets: used when the Secret has them. */}}
{{- range list "DFP_KAFKA_SASL_PASSWORD" "MLFLOW_TRACKING_TOKEN" "MLFLOW_TRACKING_USERNAME" "MLFLOW_TRACKING_PASSWORD" }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ include "dfp.secretName" $ }}
      key: {{ . }}
      optional: true
{{- end }}
{{- if .Values.s3.endpoint }}
- name: AWS_ENDPOINT_URL
  value: {{ .Values.s3.endpoint | quote }}
{{- end }}
- name: AWS_REGION
  value: {{ .Values.s3.region | quote }}
- name: DFP_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "dfp.secretName" . }}
      key: DFP_API_TOKEN
      # A misspelled existingSecret fails the pod instead of silently disabling the API.
      optional: {{ not .Values.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "dfp.secretName" . }}
      key: AWS_ACCESS_KEY_ID
      # A misspelled existingSecret fails the pod instead of silently disabling the API.
      optional: {{ not .Values.existingSecret }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "dfp.secretName" . }}
      key: AWS_SECRET_ACCESS_KEY
      # A misspelled existingSecret fails the pod instead of silently disabling the API.
      optional: {{ not .Values.existingSecret }}
{{- end -}}

{{/* A service's Deployment: $ is the root context, .kind training|inference, .cfg its values. */}}
{{- define "dfp.deployment" -}}
{{- $root := .root -}}
{{- $cfg := .cfg -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "dfp.fullname" $root }}-{{ .kind }}
  labels:
    {{- include "dfp.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .kind }}
spec:
  {{- if not (and (eq .kind "inference") $cfg.autoscaling.enabled) }}
  replicas: {{ $cfg.replicas }}
  {{- end }}
  {{- if eq .kind "training" }}
  # One GPU, and runs kept in memory: replace the pod rather than run two side by side.
  strategy:
    type: Recreate
  {{- end }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ $root.Release.Name }}
      app.kubernetes.io/component: {{ .kind }}
  template:
    metadata:
      labels:
        {{- include "dfp.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .kind }}
    spec:
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext: {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $cfg.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .kind }}
          image: "{{ $root.Values.image.repository }}:{{ $root.Values.image.tag }}"
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["node", "services/{{ .kind }}/dist/main.js"]
          securityContext: {{- toYaml $root.Values.securityContext | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ $cfg.port }}
          env:
            {{- include "dfp.env" $root | nindent 12 }}
            - name: DFP_PORT
              value: {{ $cfg.port | quote }}
            {{- if eq .kind "inference" }}
            - name: DFP_OUTPUT_TOPIC
              value: {{ $root.Values.kafka.outputTopic | quote }}
            {{- else if $cfg.scheduleSeconds }}
            - name: DFP_TRAIN_SCHEDULE_S
              value: {{ $cfg.scheduleSeconds | quote }}
            {{- end }}
            {{- with $cfg.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 15
            failureThreshold: 4
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            periodSeconds: 10
            failureThreshold: 3
          startupProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 5
            failureThreshold: 60
          resources: {{- toYaml $cfg.resources | nindent 12 }}
          volumeMounts:
            - { name: state, mountPath: /var/lib/dfp }
            - { name: tmp, mountPath: /tmp }
      volumes:
        - name: state
          {{- if $root.Values.stateVolume.existingClaim }}
          persistentVolumeClaim: { claimName: {{ $root.Values.stateVolume.existingClaim }} }
          {{- else }}
          emptyDir: {}
          {{- end }}
        - name: tmp
          emptyDir: {}
      {{- with $root.Values.nodeSelector }}
      nodeSelector: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.affinity }}
      affinity: {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{- define "dfp.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "dfp.fullname" .root }}-{{ .kind }}
  labels:
    {{- include "dfp.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .kind }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .root.Release.Name }}
    app.kubernetes.io/component: {{ .kind }}
  ports:
    - name: http
      port: {{ .cfg.port }}
      targetPort: http
{{- end -}}
