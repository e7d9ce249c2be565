# syntax=docker/dockerfile:1
# MLflow tracking server for DFP: SQLite backend and artifact proxy in one volume.
FROM python:3.11-slim
ARG MLFLOW_VERSION=3.17.2
RUN pip install --no-cache-dir "mlflow==${MLFLOW_VERSION}" \
 && useradd --uid 1000 --create-home mlflow \
 && mkdir -p /mlflow && chown mlflow:mlflow /mlflow
USER mlflow
# MLflow 3.5+ answers 403 to a Host header that is not localhost or a private address: allow
# the compose service name. Override it for other names (a Kubernetes Service, say).
ENV MLFLOW_SERVER_ALLOWED_HOSTS="mlflow,mlflow:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*"
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=4)"
CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000", \
     "--backend-store-uri", "sqlite:////mlflow/mlflow.db", \
     "--serve-artifacts", "--artifacts-destination", "/mlflow/artifacts"]
