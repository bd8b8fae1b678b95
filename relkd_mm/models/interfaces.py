"""What relkd_mm's losses and algorithms declare to the code around them.

Hooks (:class:`~relkd_mm.engine.hooks.TrainCheckHook`,
:class:`~relkd_mm.engine.hooks.DistillDiagnosticsHook`), the visualiser and
the benchmarks read these, never class names, so that a subclass or a
renamed loss is treated as its base is:

* :class:`RelationalLoss`: the base class of every relational loss
  (``VRMLoss``, ``RRDLoss``, ``RefilledTupleLoss``,
  ``RefilledClassifierLoss``). What it declares, with the defaults of a
  loss that has none of it:

  - ``relates_batch_samples`` (class attribute, False): ``forward`` relates
    the samples of a batch to each other, so a batch of one sample gives
    it nothing to relate (``TrainCheckHook`` refuses ``batch_size=1`` and a
    last batch of one);
  - ``memory_size`` (None) and ``memory_rows_per_step(rows_per_rank,
    world_size)`` (None): the rows of a memory the loss keeps across steps,
    and how many one step writes (``TrainCheckHook`` refuses a memory a
    step would overwrite with its own writes);
  - ``agreement(**inputs)`` (None): the student-teacher agreement the loss
    aims at, as a dict of floats, from the same inputs as ``forward``,
    with no side effect (``DistillDiagnosticsHook`` logs it at
    validation).

* :class:`MultiViewAlgorithm`: an algorithm whose recorders see
  ``num_views`` rows per data sample (``VRMDistill``: the real and the
  virtual view); :func:`views_per_sample` gives 1 for any other algorithm.

This module imports only torch: models/ imports nothing of engine/,
runner/ or utils/ (docs/architecture.md), the hooks import this.
"""
from typing import Optional, Protocol, runtime_checkable

import torch.nn as nn


class RelationalLoss(nn.Module):
    """Base class of the relational losses (see the module docstring for
    what a subclass declares)."""

    #: ``forward`` relates the samples of a batch to each other.
    relates_batch_samples = False
    #: Rows of the memory kept across steps; None: no memory.
    memory_size: Optional[int] = None

    def memory_rows_per_step(self, rows_per_rank, world_size):
        """Rows one training step writes into the memory, given the rows
        each process records per step and the number of processes; None
        for a loss without memory."""
        return None

    def agreement(self, **inputs):
        """The agreement the loss aims at on these inputs (``forward``'s),
        as ``{name: float}``; None when the loss reports none."""
        return None

    @classmethod
    def reports_agreement(cls):
        """Whether the class defines :meth:`agreement` (the hook skips the
        extra forward passes otherwise)."""
        return cls.agreement is not RelationalLoss.agreement


@runtime_checkable
class MultiViewAlgorithm(Protocol):
    """An algorithm whose recorders see ``num_views`` rows per sample."""

    num_views: int


def views_per_sample(model):
    """Rows each data sample adds to a recorder per step: the algorithm's
    ``num_views``, 1 for an algorithm that declares none."""
    return int(model.num_views) if isinstance(model, MultiViewAlgorithm) \
        else 1
