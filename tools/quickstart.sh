#!/usr/bin/env bash
# Quick start, step 1: set up .venv (if needed) and run the Fashion-MNIST
# distillation table. Arguments go to tools/quickstart.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh tests
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
exec .venv/bin/python tools/quickstart.py "$@"
