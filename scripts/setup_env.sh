#!/usr/bin/env bash
# Create (or reuse) the virtual environment .venv/ with everything mmpose_rle needs.
#
# Idempotent: a stamp file records the hash of this script, setup.cfg and pyproject.toml;
# when it matches, the script returns in well under a second.
# See docs in README.md ("Installing into your own environment") for the manual steps.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMPOSE_RLE_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.mmpose_rle_setup"
HASH="$(cat "$ROOT/scripts/setup_env.sh" "$ROOT/setup.cfg" "$ROOT/pyproject.toml" "$ROOT/setup.py" 2>/dev/null | sha256sum | cut -d' ' -f1)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" ]]; then
  exit 0
fi

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtual environment at $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)
# setuptools >= 82 removed pkg_resources, which mmengine, openmim and the mmcv build import.
SETUPTOOLS='setuptools>=77.0.3,<81'

log "base build tools"
"${PIP[@]}" -q --upgrade pip "$SETUPTOOLS" wheel 'cython<3.2' 'numpy>=1.26,<2.3'

log "torch + torchvision (skipped when an importable pair is present)"
if ! "$VENV/bin/python" -c 'import torch, torchvision.ops' >/dev/null 2>&1; then
  "${PIP[@]}" -q "torch${TORCH_SPEC:-==2.14.1}" "torchvision${TORCHVISION_SPEC:-==0.29.1}"
fi

log "mmcv 2.1.0 with compiled ops (first build ~10 min on 2 cores, then cached per torch version)"
if ! "$VENV/bin/python" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' >/dev/null 2>&1; then
  TORCH_VERSION="$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
  WHEELHOUSE="${XDG_CACHE_HOME:-$HOME/.cache}/mmpose_rle/wheels/torch-$TORCH_VERSION"
  if ! ls "$WHEELHOUSE"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    SRC="$(mktemp -d)"
    "$VENV/bin/python" -m pip download -q --no-deps --no-build-isolation --no-binary mmcv \
      mmcv==2.1.0 -d "$SRC"
    tar xzf "$SRC"/mmcv-2.1.0.tar.gz -C "$SRC"
    # mmcv 2.1.0 compiles with -std=c++14/17; torch >= 2.10 headers need C++20.
    if grep -q 'C++20' "$("$VENV/bin/python" -c 'import torch.utils.cpp_extension as c; print(c.include_paths()[0])')/ATen/ATen.h"; then
      sed -i 's/-std=c++1[47]/-std=c++20/g' "$SRC/mmcv-2.1.0/setup.py"
    fi
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-2}" "$VENV/bin/python" -m pip wheel -q --no-deps \
      --no-build-isolation "$SRC/mmcv-2.1.0" -w "$WHEELHOUSE"
    rm -rf "$SRC"
  fi
  "${PIP[@]}" -q "$WHEELHOUSE"/mmcv-2.1.0-*.whl
fi

log "xtcocotools built against the installed numpy"
if ! "$VENV/bin/python" -c 'import xtcocotools.coco' >/dev/null 2>&1; then
  "${PIP[@]}" -q --no-build-isolation --no-binary xtcocotools --force-reinstall --no-deps xtcocotools==1.14.3
fi

log "OpenMMLab stack: mmengine, mmdet, mmpose (without the unbuildable chumpy) and openmim"
"${PIP[@]}" -q mmengine==0.10.7 opencv-python json_tricks munkres scipy matplotlib pillow six \
  shapely terminaltables tqdm pycocotools
"${PIP[@]}" -q --no-deps mmdet==3.3.0 mmpose==1.3.2 openmim==0.3.9
"${PIP[@]}" -q Click colorama model-index pandas requests rich tabulate

log "test, lint and export tools"
"${PIP[@]}" -q pytest pytest-timeout 'ruff==0.17.6' onnx onnxruntime build

log "mmpose_rle (editable)"
"${PIP[@]}" -q --no-deps --no-build-isolation -e "$ROOT"

# Other packages may have moved setuptools; put the pin back last.
"${PIP[@]}" -q "$SETUPTOOLS" 'numpy>=1.26,<2.3'

"$VENV/bin/python" - <<'PY'
import mmcv.ops, mmpose.apis, mmpose.models, mmpose.datasets, mmpose.evaluation  # noqa: F401
import mmpose.visualization, xtcocotools.coco, pkg_resources, mmpose_rle  # noqa: F401
print('environment OK: mmpose', __import__('mmpose').__version__,
      'torch', __import__('torch').__version__)
PY
echo "$HASH" > "$STAMP"
log "done: $VENV"
