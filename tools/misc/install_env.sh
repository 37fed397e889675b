#!/usr/bin/env bash
# Install the whole mmlwgan stack into a virtual environment, reproducibly.
#
# Usage: bash tools/misc/install_env.sh            (called by `make install`)
#
# Environment variables:
#   VENV              where the environment goes (default: .venv in the repo root).
#   PYTHON            interpreter used to create it (default: python3).
#   MMLWGAN_KEEP_TORCH=1
#                     keep the torch/torchvision already importable by $PYTHON (for
#                     example a CUDA build you installed yourself): the venv is made
#                     with --system-site-packages and torch is not (re)installed.
#   MMLWGAN_WHEEL_CACHE
#                     where the mmcv wheel built from source is cached, keyed by the
#                     torch version (default: ~/.cache/mmlwgan/wheels).
#
# Idempotent: a stamp file records a hash of this script and of requirements/*.txt;
# when it matches, the script exits at once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
# absolute: the mmcv build runs pip from inside the unpacked sdist
[[ "$VENV" = /* ]] || VENV="$PWD/$VENV"
PYTHON="${PYTHON:-python3}"
KEEP_TORCH="${MMLWGAN_KEEP_TORCH:-0}"
WHEEL_CACHE="${MMLWGAN_WHEEL_CACHE:-$HOME/.cache/mmlwgan/wheels}"
TORCH_SPEC="torch==2.14.1 torchvision==0.29.1"
MMCV_VERSION="2.1.0"

stamp_hash() {
  cat "$ROOT/tools/misc/install_env.sh" "$ROOT"/requirements/*.txt "$ROOT/setup.py" \
    | sha256sum | cut -c1-16
  echo "keep_torch=$KEEP_TORCH"
}
STAMP="$VENV/.mmlwgan-installed"
if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(stamp_hash)" ]]; then
  echo "[install] environment at $VENV is up to date"
  exit 0
fi

log() { echo "[install] $*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtual environment at $VENV"
  if [[ "$KEEP_TORCH" == "1" ]]; then
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    "$PYTHON" -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
# pip prints a warning per missing local index folder on this kind of machine; hide those.
pip_quiet() { "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

log "build tools"
pip_quiet "${PIP[@]}" install -q --upgrade pip "setuptools>=77,<81" wheel ninja

if [[ "$KEEP_TORCH" == "1" ]]; then
  log "keeping the torch already installed: $("$PY" -c 'import torch; print(torch.__version__)')"
else
  log "torch ($TORCH_SPEC)"
  # shellcheck disable=SC2086
  pip_quiet "${PIP[@]}" install -q $TORCH_SPEC
fi
TORCH_VER="$("$PY" -c 'import torch; print(torch.__version__)')"

log "runtime requirements"
pip_quiet "${PIP[@]}" install -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/mminstall_deps.txt" \
  -r "$ROOT/requirements/tests.txt"

# ---------------------------------------------------------------------------
# mmcv with ops, built from the sdist (no wheel exists for this torch), cached
# outside the clone by torch version so that a fresh clone installs in minutes.
# ---------------------------------------------------------------------------
have_mmcv() {
  "$PY" - "$MMCV_VERSION" <<'EOF' 2>/dev/null
import sys
import mmcv
from mmcv.ops import nms  # noqa: F401  (fails when the ops were not built)
sys.exit(0 if mmcv.__version__ == sys.argv[1] else 1)
EOF
}

if have_mmcv; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  CACHE_DIR="$WHEEL_CACHE/torch-${TORCH_VER}"
  mkdir -p "$CACHE_DIR"
  WHEEL="$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [[ -z "$WHEEL" ]]; then
    log "building mmcv $MMCV_VERSION with ops from source (15-20 minutes on 2 cores)"
    BUILD_DIR="$(mktemp -d)"
    trap 'rm -rf "$BUILD_DIR"' EXIT
    "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary :all: -d "$BUILD_DIR" "mmcv==$MMCV_VERSION"
    tar -xzf "$BUILD_DIR"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD_DIR"
    SRC="$BUILD_DIR/mmcv-$MMCV_VERSION"
    # torch >= 2.14 headers need C++20; mmcv 2.1.0's setup.py hard-codes c++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    (cd "$SRC" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-2}" \
      "${PIP[@]}" wheel -q --no-build-isolation --no-deps -w "$BUILD_DIR/dist" .)
    WHEEL_NAME="$(basename "$(ls "$BUILD_DIR"/dist/mmcv-*.whl)")"
    # Copy then rename so that an interrupted copy never looks like a wheel.
    cp "$BUILD_DIR/dist/$WHEEL_NAME" "$CACHE_DIR/.$WHEEL_NAME.part"
    mv "$CACHE_DIR/.$WHEEL_NAME.part" "$CACHE_DIR/$WHEEL_NAME"
    WHEEL="$CACHE_DIR/$WHEEL_NAME"
  else
    log "using cached mmcv wheel $WHEEL"
  fi
  pip_quiet "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"
fi

# mmpose declares chumpy, which does not build; mmdet pins nothing we lack.
log "mmpose / mmdet (without their declared dependencies)"
grep -v -E '^(#|mmcv|$)' "$ROOT/requirements/mminstall.txt" | xargs "${PIP[@]}" install -q --no-deps

log "mmlwgan (editable)"
pip_quiet "${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

log "import check"
"$PY" -c "import mmlwgan, mmcv, mmengine, mmpose, mmdet, smplx, torch, torchvision; \
print('mmlwgan', mmlwgan.__version__, '| torch', torch.__version__, '| mmcv', mmcv.__version__, \
'| mmengine', mmengine.__version__, '| mmpose', mmpose.__version__, '| mmdet', mmdet.__version__)"

stamp_hash > "$STAMP"
log "done"
