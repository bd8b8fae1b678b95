"""TrainCheckHook reads the components' declared needs
(``relates_batch_samples``, ``memory_rows_per_step``, ``num_views``), so
that subclasses and renamed losses are checked as their bases are (the
hook used to match class names)."""
from types import SimpleNamespace

import pytest

import relkd_mm  # noqa: F401  (compat patches before any mm* import)
from relkd_mm.engine.hooks.train_check_hook import (TrainCheckHook,
                                                    _rows_per_sample)
from relkd_mm.models.algorithms import VRMDistill
from relkd_mm.models.losses import RefilledTupleLoss, RRDLoss, VRMLoss


class MyVRM(VRMLoss):
    """A renamed VRM: ``type(loss).__name__`` is no longer 'VRMLoss'."""


class MyTuples(RefilledTupleLoss):
    pass


class MyRRD(RRDLoss):
    pass


def loader(batch_size, num_samples=16, drop_last=False):
    return SimpleNamespace(batch_size=batch_size, drop_last=drop_last,
                           sampler=range(num_samples))


@pytest.mark.parametrize('kind', [MyVRM, MyTuples])
def test_subclass_of_a_batch_relational_loss_is_checked(kind):
    with pytest.raises(ValueError, match=r"loss 'x' \(My\w+\) relates the "
                       'samples of a batch.*batch_size=1'):
        TrainCheckHook._check_batches(loader(1), dict(x=kind()))
    with pytest.raises(ValueError, match='ends with a batch of 1 sample'):
        TrainCheckHook._check_batches(loader(5), dict(x=kind()))
    TrainCheckHook._check_batches(loader(5, drop_last=True), dict(x=kind()))


def test_subclass_of_a_memory_loss_is_checked():
    small = MyRRD(queue_size=12, embed_dim=4)
    with pytest.raises(ValueError, match=r'\(MyRRD\) has queue_size=12, '
                       'smaller than the 16 teacher embeddings written per '
                       r'step \(batch_size=8 x 2 views'):
        TrainCheckHook._check_batches(loader(8), dict(x=small), 2)
    TrainCheckHook._check_batches(loader(8), dict(x=small), 1)


def test_views_are_declared_by_the_algorithm():
    assert VRMDistill.num_views == 2
    assert _rows_per_sample(SimpleNamespace(num_views=3)) == 3
    assert _rows_per_sample(object()) == 1
    assert not RRDLoss.relates_batch_samples
    assert VRMLoss.relates_batch_samples
    assert RefilledTupleLoss.relates_batch_samples


def test_losses_declare_through_the_interface():
    """One declared interface (relkd_mm.models.interfaces) instead of
    duck-typed attributes: every relational loss is a RelationalLoss,
    VRMDistill a MultiViewAlgorithm, and a loss outside the interface
    (MMRazor's) is not checked."""
    from mmrazor.models.algorithms import SingleTeacherDistill
    from mmrazor.models.losses import KLDivergence

    from relkd_mm.models.interfaces import (MultiViewAlgorithm, RelationalLoss,
                                            views_per_sample)
    from relkd_mm.models.losses import RefilledClassifierLoss
    for kind in (VRMLoss, RRDLoss, RefilledTupleLoss,
                 RefilledClassifierLoss):
        assert issubclass(kind, RelationalLoss)
        assert kind.reports_agreement()
    assert RRDLoss(queue_size=12, embed_dim=4).memory_size == 12
    assert VRMLoss().memory_size is None
    assert VRMLoss().memory_rows_per_step(8, 2) is None
    assert VRMDistill.num_views == 2
    assert isinstance(SimpleNamespace(num_views=2), MultiViewAlgorithm)
    assert not hasattr(SingleTeacherDistill, 'num_views')
    assert views_per_sample(SimpleNamespace()) == 1
    TrainCheckHook._check_batches(loader(1), dict(x=KLDivergence()))


def test_memory_larger_than_an_epoch_is_named(monkeypatch):
    """RRD's memory on a small data set: more rows than one epoch writes
    means most of it repeats the batch's own images."""
    from relkd_mm.engine.hooks import train_check_hook
    said = []
    monkeypatch.setattr(train_check_hook, 'print_log',
                        lambda msg, **kwargs: said.append(msg))
    memory = MyRRD(queue_size=64, embed_dim=4)
    small_data = SimpleNamespace(batch_size=8, drop_last=False,
                                 sampler=range(16), dataset=[0] * 16)
    TrainCheckHook._check_batches(small_data, dict(x=memory), 2)
    assert len(said) == 1
    assert "queue_size=64, more than the 32 teacher embeddings one epoch " \
        'writes (16 training samples x 2 view(s)): 2.0 epochs' in said[0]
    assert 'set queue_size <= 32' in said[0]
    TrainCheckHook._check_batches(
        SimpleNamespace(batch_size=8, drop_last=False, sampler=range(64),
                        dataset=[0] * 64), dict(x=memory), 1)
    assert len(said) == 1
