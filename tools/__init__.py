"""relkd_mm's tools: scripts run by path (``python tools/train.py``), and
the :mod:`tools.benchmarks` package they share. A regular package, so that
no other ``tools`` folder on ``sys.path`` shadows it."""
