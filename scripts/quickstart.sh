#!/usr/bin/env bash
# Set up .venv/ (idempotent, see scripts/setup_env.sh) and run the quick start:
# procedural data -> RLE training on the CPU -> evaluation -> drawings with sigma ellipses.
# Extra arguments go to tools/quickstart.py (e.g. --epochs 10, --seed 1, --out docs/quickstart;
# --one-stage trains the one-stage YOLOX-Pose RLE model on procedural crowds instead).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" tools/quickstart.py "$@"
