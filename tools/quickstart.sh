#!/usr/bin/env bash
# Quick start, step 1: set up .venv (if needed), install Fashion-MNIST (if
# needed and no --data-root is given) and run the Fashion-MNIST
# distillation table. Arguments go to tools/quickstart.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh tests
case " $* " in
  *" --data-root"*) ;;  # the user's own copy: nothing to install
  *) bash tools/fetch_fashion_mnist.sh ;;
esac
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
exec .venv/bin/python tools/quickstart.py "$@"
