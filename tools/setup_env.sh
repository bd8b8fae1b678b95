#!/usr/bin/env bash
# Create .venv/ in the repository root (when missing) and install relkd_mm
# with the pinned OpenMMLab stack. torch is pinned and installed FIRST: an
# unpinned torch, or a range admitting a newer release, pulls several GB of
# CUDA packages, where torch==2.13.0 resolves to the CPU wheel.
# Usage: bash tools/setup_env.sh [extras]   (default extras: tests)
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-tests}"
PYTHON="${PYTHON:-python3}"
TORCH_PIN="torch==2.13.0"
TORCHVISION_PIN="torchvision==0.28.0"

if [ ! -x .venv/bin/python ]; then
  echo "[setup_env] creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
PY=.venv/bin/python
STAMP=.venv/.relkd_mm-installed
HASH="$(cat setup.cfg tools/setup_env.sh | sha1sum | cut -d' ' -f1)"
# Skip when this setup.cfg was installed with (at least) these extras.
if [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$HASH" ]; then
  have="$(tail -n1 "$STAMP")"
  missing=""
  for extra in ${EXTRAS//,/ }; do
    case ",$have," in *",$extra,"*) ;; *) missing=1 ;; esac
  done
  [ -z "$missing" ] && exit 0
  EXTRAS="$have,$EXTRAS"
fi
echo "[setup_env] installing $TORCH_PIN, $TORCHVISION_PIN and relkd_mm[$EXTRAS]"
PIP="$PY -m pip install -q --disable-pip-version-check"
$PIP "$TORCH_PIN" "setuptools>=77.0.3,<82" wheel
$PIP "$TORCH_PIN" "$TORCHVISION_PIN"
$PIP --no-build-isolation -e ".[$EXTRAS]" "$TORCH_PIN" "$TORCHVISION_PIN"
$PY -W ignore -c "import relkd_mm, mmrazor.models, mmpretrain; print('[setup_env] ok:', relkd_mm.__version__, 'patches:', ', '.join(relkd_mm.compat.APPLIED))"
printf '%s\n%s\n' "$HASH" "$EXTRAS" > "$STAMP"
