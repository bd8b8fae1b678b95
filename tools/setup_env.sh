#!/usr/bin/env bash
# Create .venv/ in the repository root (when missing) and install relkd_mm
# with the pinned OpenMMLab stack. torch is pinned and installed FIRST: an
# unpinned torch pulls several GB of CUDA packages (stack.md).
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
WANT="$(cat setup.cfg tools/setup_env.sh | sha1sum | cut -d' ' -f1) $EXTRAS"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi
echo "[setup_env] installing $TORCH_PIN, $TORCHVISION_PIN and relkd_mm[$EXTRAS]"
PIP="$PY -m pip install -q --disable-pip-version-check"
$PIP "$TORCH_PIN" "setuptools>=77.0.3,<82" wheel
$PIP "$TORCH_PIN" "$TORCHVISION_PIN"
$PIP --no-build-isolation -e ".[$EXTRAS]" "$TORCH_PIN" "$TORCHVISION_PIN"
$PY -c "import relkd_mm, mmrazor.models, mmpretrain; print('[setup_env] ok:', relkd_mm.__version__, 'patches:', relkd_mm.compat.APPLIED)"
echo "$WANT" > "$STAMP"
