#!/usr/bin/env bash
# Regenerates tests/fixtures/minilm/ (reference embeddings of all-MiniLM-L6-v2)
# with sentence-transformers. Creates the .peers virtual environment and
# installs torch (CPU), transformers and sentence-transformers when missing,
# then runs scripts/ref_minilm.py offline against the local model directory.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.peers
if [ ! -d models/all-MiniLM-L6-v2 ]; then
    echo "ref_minilm: models/all-MiniLM-L6-v2 is missing: run scripts/setup.sh first" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import torch, transformers, sentence_transformers, numpy' 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --index-url https://download.pytorch.org/whl/cpu torch ||
        "$VENV/bin/pip" install --quiet torch
    "$VENV/bin/pip" install --quiet transformers sentence-transformers numpy
fi
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 exec "$VENV/bin/python" scripts/ref_minilm.py "$@"
