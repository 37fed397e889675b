#!/usr/bin/env bash
# Install the mmlwgan stack into a virtual environment, reproducibly, in stages.
#
# Usage: bash tools/misc/install_env.sh [core|web|full]     (default: full)
#
#   core  what the demo and the generator need (`make demo`): torch/torchvision,
#         the runtime requirements, mmcv 2.1.0 *without* its compiled ops (pure
#         Python, built from the sdist in seconds, cached), smplx, mmlwgan
#         (editable). A few minutes on a fresh machine.
#   web   core + the web app's extra, gradio (`make web`).
#   full  web + mmcv with its compiled ops (built from source once, 15-20
#         minutes on 2 cores, then cached by torch version), mmpose / mmdet for
#         the detector and keypoint paths, the test requirements and Debian's
#         headless Chromium + chromedriver for the browser test (`make test`,
#         `make install-full`, `make install`).
#
# Each stage includes the ones before it. A stage is skipped at once when it, or
# a later one, was installed by this same script and requirements (a stamp per
# stage in the venv), so `make demo` never downgrades a full install; mmcv with
# ops is never replaced by the pure-Python build.
#
# Environment variables:
#   VENV              where the environment goes (default: .venv in the repo root).
#   PYTHON            interpreter used to create it (default: python3).
#   MMLWGAN_KEEP_TORCH=1
#                     keep the torch/torchvision already importable by $PYTHON (for
#                     example a CUDA build you installed yourself): the venv is made
#                     with --system-site-packages and torch is not (re)installed.
#   MMLWGAN_WHEEL_CACHE
#                     where the mmcv wheels built from source are cached: with ops
#                     keyed by the torch version, without ops in mmcv-lite/
#                     (default: ~/.cache/mmlwgan/wheels).
#   MMLWGAN_NO_BROWSER=1
#                     full stage: do not install Chromium (the browser test skips).
set -euo pipefail
shopt -s inherit_errexit  # errors inside $(...) stop the script too

STAGE="${1:-full}"
case "$STAGE" in
  core) LEVEL=1 ;;
  web) LEVEL=2 ;;
  full) LEVEL=3 ;;
  *) echo "usage: $0 [core|web|full]" >&2; exit 2 ;;
esac

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
STAGES=(core web full)
stamp_file() {  # the stamp of stage $1 (full keeps the name it always had)
  if [[ "$1" == full ]]; then echo "$VENV/.mmlwgan-installed"; else echo "$VENV/.mmlwgan-$1-installed"; fi
}
HASH="$(stamp_hash)"
for ((i = LEVEL - 1; i < ${#STAGES[@]}; i++)); do
  S="$(stamp_file "${STAGES[$i]}")"
  if [[ -f "$S" ]] && [[ "$(cat "$S")" == "$HASH" ]]; then
    echo "[install] environment at $VENV is up to date (stage ${STAGES[$i]})"
    exit 0
  fi
done

log() { echo "[install] $*"; }
SECONDS=0
log "stage $STAGE into $VENV"

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
pip_quiet "${PIP[@]}" install -q --upgrade pip -r "$ROOT/requirements/build.txt"

if [[ "$KEEP_TORCH" == "1" ]]; then
  log "keeping the torch already installed: $("$PY" -c 'import torch; print(torch.__version__)')"
else
  log "torch ($TORCH_SPEC)"
  # shellcheck disable=SC2086
  pip_quiet "${PIP[@]}" install -q $TORCH_SPEC
fi
TORCH_VER="$("$PY" -c 'import torch; print(torch.__version__)')"

REQS=(-r "$ROOT/requirements/runtime.txt")
((LEVEL >= 2)) && REQS+=(-r "$ROOT/requirements/web.txt")
((LEVEL >= 3)) && REQS+=(-r "$ROOT/requirements/mminstall_deps.txt" -r "$ROOT/requirements/tests.txt")
log "requirements (${REQS[*]//$ROOT\//})"
pip_quiet "${PIP[@]}" install -q "${REQS[@]}"

# ---------------------------------------------------------------------------
# mmcv, built from the sdist (no wheel exists for this torch): without ops for
# core/web (pure Python, seconds), with ops for full (15-20 minutes); both are
# cached outside the clone so that a fresh clone installs in minutes.
# ---------------------------------------------------------------------------
mmcv_state() {  # prints none | lite | ops
  "$PY" - "$MMCV_VERSION" <<'EOF' 2>/dev/null || echo none
import sys
try:
    import mmcv
except ImportError:
    print('none'); sys.exit(0)
if mmcv.__version__ != sys.argv[1]:
    print('none'); sys.exit(0)
try:
    from mmcv.ops import nms  # noqa: F401  (fails when the ops were not built)
except Exception:
    print('lite')
else:
    print('ops')
EOF
}

# build_mmcv WITH_OPS DEST_DIR: build the mmcv wheel from the sdist into the
# cache folder DEST_DIR (copy then rename: an interrupted copy never looks like
# a wheel) and print its path. The build's output goes to a log, shown on failure.
build_mmcv() {
  local with_ops="$1" dest="$2" build src name
  build="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$build'" EXIT
  "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary :all: -d "$build" \
    "mmcv==$MMCV_VERSION" 2> >(grep -v "is ignored: it is neither" >&2) >&2
  tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
  src="$build/mmcv-$MMCV_VERSION"
  # torch >= 2.14 headers need C++20; mmcv 2.1.0's setup.py hard-codes c++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  # Without ops mmcv names itself mmcv-lite; keep the name mmcv, so that the
  # full stage's wheel replaces it cleanly and `mmcv==2.1.0` is satisfied.
  sed -i "s/name='mmcv' if os.getenv('MMCV_WITH_OPS', '1') == '1' else 'mmcv-lite'/name='mmcv'/" \
    "$src/setup.py"
  if ! (cd "$src" && MMCV_WITH_OPS="$with_ops" MAX_JOBS="${MAX_JOBS:-2}" \
    "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$build/dist" . >"$build/build.log" 2>&1); then
    tail -n 40 "$build/build.log" >&2
    echo "[install] building mmcv failed (the end of its log is above)" >&2
    return 1
  fi
  name="$(basename "$(ls "$build"/dist/mmcv-"$MMCV_VERSION"-*.whl)")"
  mkdir -p "$dest"
  cp "$build/dist/$name" "$dest/.$name.part"
  mv "$dest/.$name.part" "$dest/$name"
  rm -rf "$build"
  trap - EXIT
  echo "$dest/$name"
}

MMCV="$(mmcv_state)"
if ((LEVEL < 3)); then
  if [[ "$MMCV" != none ]]; then
    log "mmcv $MMCV_VERSION already installed ($MMCV)"
  else
    LITE_DIR="$WHEEL_CACHE/mmcv-lite"
    WHEEL="$(ls "$LITE_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
    if [[ -z "$WHEEL" ]]; then
      log "building mmcv $MMCV_VERSION without ops (pure Python) from the sdist"
      WHEEL="$(build_mmcv 0 "$LITE_DIR")"
    else
      log "using cached mmcv wheel $WHEEL"
    fi
    pip_quiet "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"
  fi
elif [[ "$MMCV" == ops ]]; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  CACHE_DIR="$WHEEL_CACHE/torch-${TORCH_VER}"
  WHEEL="$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [[ -z "$WHEEL" ]]; then
    log "building mmcv $MMCV_VERSION with ops from source (15-20 minutes on 2 cores)"
    WHEEL="$(build_mmcv 1 "$CACHE_DIR")"
  else
    log "using cached mmcv wheel $WHEEL"
  fi
  "${PIP[@]}" uninstall -y -q mmcv-lite >/dev/null 2>&1 || true
  pip_quiet "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"
fi

if ((LEVEL >= 3)); then
  # mmpose declares chumpy, which does not build; mmdet pins nothing we lack.
  log "mmpose / mmdet (without their declared dependencies)"
  grep -v -E '^(#|mmcv|$)' "$ROOT/requirements/mminstall.txt" | xargs "${PIP[@]}" install -q --no-deps

  # The browser test drives Debian's Chromium through its chromedriver; nothing
  # downloads a browser at run time.
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    log "chromium + chromedriver already installed"
  elif [[ "${MMLWGAN_NO_BROWSER:-0}" == "1" ]]; then
    log "MMLWGAN_NO_BROWSER=1: no chromium (the browser test will skip)"
  else
    SUDO=()
    [[ "$(id -u)" == 0 ]] || SUDO=(sudo -n)
    if [[ "$(id -u)" == 0 ]] || sudo -n true 2>/dev/null; then
      log "chromium + chromedriver (apt, for the browser test)"
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends chromium chromium-driver >/dev/null
    else
      log "WARNING: not root and no sudo: install the Debian packages chromium and" \
        "chromium-driver yourself for the browser test (it skips without them)"
    fi
  fi
fi

log "mmlwgan (editable)"
pip_quiet "${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

log "import check"
CHECK="import mmlwgan, mmcv, mmengine, smplx, torch, torchvision
print('mmlwgan', mmlwgan.__version__, '| torch', torch.__version__, '| mmcv', mmcv.__version__,
      '| mmengine', mmengine.__version__, end='')"
((LEVEL >= 2)) && CHECK+="
import gradio; print(' | gradio', gradio.__version__, end='')"
((LEVEL >= 3)) && CHECK+="
import mmpose, mmdet; from mmcv.ops import nms
print(' | mmpose', mmpose.__version__, '| mmdet', mmdet.__version__, end='')"
"$PY" -c "$CHECK
print()"

for ((i = 0; i < LEVEL; i++)); do
  echo "$HASH" > "$(stamp_file "${STAGES[$i]}")"
done
log "stage $STAGE done in ${SECONDS}s"
