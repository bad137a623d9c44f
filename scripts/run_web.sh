#!/usr/bin/env bash
# The web process: uvicorn workers that share one Prometheus multiprocess directory (wiped at
# start, so counters begin at zero with the process group). Extra arguments go to uvicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-var/metrics/web}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
exec "${PYTHON:-.venv/bin/python}" -m uvicorn mlplatform.asgi:application \
  --host "${MLP_HTTP_HOST:-127.0.0.1}" --port "${MLP_HTTP_PORT:-8000}" \
  --workers "${MLP_WEB_WORKERS:-2}" --loop uvloop --http httptools --no-access-log \
  --timeout-graceful-shutdown 20 "$@"
