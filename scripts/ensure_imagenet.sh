#!/usr/bin/env bash
# Export EfficientNet-Lite0 to ONNX once, in its own virtualenv (torch never enters the serving
# environment), cached outside the clone and keyed by the export inputs; link it into var/build.
set -euo pipefail
# pip repeats a warning for every missing local index (a machine-wide pip.conf); keep real output.
quiet_pip() { grep -v "^WARNING: Location 'file://" || true; }
cd "$(dirname "$0")/.."
cache="${MLP_CACHE_DIR:-$HOME/.cache/mlplatform}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
key=$(cat requirements-export.txt scripts/export_imagenet.py | sha256sum | cut -c1-16)
out="$cache/models/efficientnet_lite0-$key.onnx"
if [ ! -s "$out" ]; then
  venv="$cache/export-venv-$key"
  if [ ! -f "$venv/.complete" ]; then
    echo "==> building the model-export virtualenv $venv (torch CPU; first time only)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet -r requirements-export.txt 2>&1 | quiet_pip
    touch "$venv/.complete"
  fi
  mkdir -p "$cache/models"
  "$venv/bin/python" -W ignore scripts/export_imagenet.py "$out"
fi
mkdir -p var/build
ln -sfn "$out" var/build/efficientnet_lite0.onnx
