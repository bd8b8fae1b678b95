"""A non-finite teacher embedding never enters RRD's memory (which would
make every later loss NaN), even without NonFiniteLossHook."""
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS


def test_rrd_memory_keeps_old_rows_for_non_finite_keys():
    torch.manual_seed(0)
    loss = MODELS.build(dict(type='mmrazor.RRDLoss', queue_size=8,
                             embed_dim=4))
    before = loss.queue.clone()
    keys = F.normalize(torch.randn(3, 4), dim=1)
    keys[1, 2] = float('nan')
    loss(F.normalize(torch.randn(3, 4), dim=1), keys)
    assert torch.equal(loss.queue[0], keys[0])
    assert torch.equal(loss.queue[1], before[1])  # not overwritten
    assert torch.equal(loss.queue[2], keys[2])
    assert loss.queue_ptr.item() == 3
    assert torch.isfinite(loss.queue).all()
    # The next step's loss is finite again.
    nxt = loss(F.normalize(torch.randn(3, 4), dim=1),
               F.normalize(torch.randn(3, 4), dim=1))
    assert torch.isfinite(nxt)
