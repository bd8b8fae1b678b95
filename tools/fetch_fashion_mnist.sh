#!/usr/bin/env bash
# Install Fashion-MNIST where the quick start and the benchmark read it by
# default: Debian's `dataset-fashion-mnist` package, the four gzipped idx
# files in /usr/share/datasets/fashion-mnist
# (relkd_mm.datasets.local.DEBIAN_FASHION_MNIST). Needs apt-get and root;
# does nothing when the files are there. The other tools only check for the
# files (tools.benchmarks.quick_runs.check_fashion_mnist) and name this
# script; installing is left to this tool.
# Usage: sudo bash tools/fetch_fashion_mnist.sh
set -euo pipefail
DIR=/usr/share/datasets/fashion-mnist
PACKAGE=dataset-fashion-mnist

have_files() {
  local f
  for f in train-images-idx3 train-labels-idx1 t10k-images-idx3 \
      t10k-labels-idx1; do
    [ -f "$DIR/$f-ubyte.gz" ] || [ -f "$DIR/$f-ubyte" ] || return 1
  done
}

have_files && exit 0
other="or put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\
 t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in a folder and pass\
 --data-root to tools/quickstart.py or tools/benchmark.py."
if ! command -v apt-get > /dev/null; then
  echo "Fashion-MNIST is not in $DIR and there is no apt-get to install" \
    "Debian's $PACKAGE: $other" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "Fashion-MNIST is not in $DIR: install Debian's $PACKAGE as root" \
    "(sudo bash $0), $other" >&2
  exit 1
fi
echo "Fashion-MNIST is missing: installing the Debian package $PACKAGE..."
# A fresh image may have no package lists yet: update once, then retry.
apt-get install -y -q "$PACKAGE" ||
  { apt-get update -q && apt-get install -y -q "$PACKAGE"; }
if ! have_files; then
  echo "$PACKAGE is installed but $DIR lacks its idx files." >&2
  exit 1
fi
