# socialcare: one image for the web app, the job worker and migrations (see docs/operations.md).
#   docker build -t socialcare .
#   docker compose up          (compose.yaml: web, worker, PostgreSQL, Redis)
# Reproducible: a fixed base image tag, packages pinned by requirements.lock (constraints), no cache.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/socialcare
COPY pyproject.toml README.md requirements.lock ./
COPY src ./src
RUN /opt/socialcare/bin/pip install --constraint requirements.lock . \
 && find /opt/socialcare -name '__pycache__' -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE}
# WeasyPrint (PDF reports) needs Pango; fonts for the PDFs and charts
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 socialcare \
 && useradd --system --uid 10001 --gid socialcare --home-dir /var/lib/socialcare --create-home socialcare
COPY --from=build /opt/socialcare /opt/socialcare
ENV PATH=/opt/socialcare/bin:$PATH \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    SOCIALCARE_DATA_DIR=/var/lib/socialcare \
    SOCIALCARE_HOST=0.0.0.0 \
    SOCIALCARE_LOG_FORMAT=json
USER socialcare:socialcare
WORKDIR /var/lib/socialcare
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
ENTRYPOINT ["socialcare"]
CMD ["serve", "--no-worker", "--workers", "2"]
