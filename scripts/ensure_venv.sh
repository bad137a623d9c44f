#!/usr/bin/env bash
# Make .venv point at a virtualenv built from the pinned requirements. The environment is cached
# outside the clone, keyed by the requirement files' hash, so a fresh clone reuses it.
set -euo pipefail
# pip repeats a warning for every missing local index (a machine-wide pip.conf); keep real output.
quiet_pip() { grep -v "^WARNING: Location 'file://" || true; }
cd "$(dirname "$0")/.."
cache="${MLP_CACHE_DIR:-$HOME/.cache/mlplatform}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "MLPlatform needs Python 3.11 (spyne does not run on 3.12+); found $("$python" --version)" >&2
  exit 1
}
key=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
venv="$cache/venv-$key"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "==> building virtualenv $venv (first time only)"
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip==24.3.1 2>&1 | quiet_pip
  "$venv/bin/pip" install --quiet -r requirements-dev.txt 2>&1 | quiet_pip
  "$venv/bin/pip" check
  touch "$venv/.complete"
fi
if [ "$(readlink .venv 2>/dev/null || true)" != "$venv" ]; then
  rm -rf .venv
  ln -s "$venv" .venv
fi
