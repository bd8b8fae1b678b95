"""Patches for upstream defects that let a run go silently wrong, unsafe or
fail obscurely, one module per subject (the second kind of
:mod:`relkd_mm.compat`, which lists them and applies them in order)."""
