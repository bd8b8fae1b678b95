import pytest
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS

import relkd_mm  # noqa: F401  (compat patches before any mm* import)
from relkd_mm.models.losses import RRD_PRESETS, RRDLoss
from relkd_mm.testing.reference import reference_rrd_loss as reference_loss


def unit(*shape, dtype=torch.float64):
    return F.normalize(torch.randn(*shape, dtype=dtype), dim=-1)


def written_row_by_row(memory, ptr, rows):
    """The FIFO write, one row at a time."""
    memory = memory.clone()
    for row in rows:
        memory[ptr] = row
        ptr = (ptr + 1) % len(memory)
    return memory, ptr


@pytest.mark.parametrize('enqueue_first', [False, True])
def test_value_matches_reference(enqueue_first):
    torch.manual_seed(0)
    loss = RRDLoss(loss_weight=0.7, queue_size=10, embed_dim=6,
                   enqueue_first=enqueue_first).double()
    # Start near the end so that the batch of 4 wraps around.
    loss.queue_ptr.fill_(8)
    before = loss.queue.clone()
    zs, zt = unit(4, 6), unit(4, 6)
    after, _ = written_row_by_row(before, 8, zt)
    keys = after if enqueue_first else before
    expected = 0.7 * reference_loss(zs, zt, keys, 0.04, 0.1)
    value = loss(zs, zt)
    assert value.dim() == 0
    assert value.item() == pytest.approx(expected, rel=1e-9)
    torch.testing.assert_close(loss.queue, after, rtol=0, atol=0)
    assert loss.queue_ptr.item() == 2


def test_value_float32_and_2025_preset():
    torch.manual_seed(1)
    loss = RRDLoss(queue_size=32, embed_dim=8, preset='2025')
    before = loss.queue.clone()
    zs, zt = unit(5, 8, dtype=torch.float32), unit(5, 8, dtype=torch.float32)
    after, _ = written_row_by_row(before, 0, zt)
    expected = reference_loss(zs, zt, after, 0.1, 0.02)
    assert loss(zs, zt).item() == pytest.approx(expected, rel=1e-4)


def test_autocast_keeps_float32():
    torch.manual_seed(8)
    zs, zt = unit(8, 16, dtype=torch.float32), unit(8, 16, dtype=torch.float32)
    plain = RRDLoss(queue_size=64, embed_dim=16)
    amp = RRDLoss(queue_size=64, embed_dim=16)
    amp.load_state_dict(plain.state_dict())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = amp(zs.bfloat16(), zt.bfloat16())
    expected = plain(zs.bfloat16().float(), zt.bfloat16().float())
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    torch.testing.assert_close(amp.queue, plain.queue, rtol=0, atol=0)


def test_gradients_reach_student_only():
    torch.manual_seed(2)
    student = MODELS.build(dict(type='EmbedConnector', dim_in=12, dim_out=8))
    teacher = MODELS.build(
        dict(type='EmbedConnector', dim_in=20, dim_out=8, frozen=True))
    loss = RRDLoss(queue_size=16, embed_dim=8)
    fs = torch.randn(6, 12, requires_grad=True)
    ft = torch.randn(6, 20, 1, 1, requires_grad=True)
    zs, zt = student(fs), teacher(ft)
    assert not zt.requires_grad
    value = loss(zs, zt)
    value.backward()
    assert fs.grad is not None and fs.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in student.parameters())
    assert ft.grad is None
    assert all(p.grad is None and not p.requires_grad
               for p in teacher.parameters())
    assert not loss.queue.requires_grad and loss.queue.grad is None
    assert list(loss.parameters()) == []


def test_teacher_embedding_gets_no_gradient_even_if_it_requires_one():
    loss = RRDLoss(queue_size=16, embed_dim=8, enqueue_first=True)
    zs = unit(4, 8, dtype=torch.float32).requires_grad_()
    zt = unit(4, 8, dtype=torch.float32).requires_grad_()
    loss(zs, zt).backward()
    assert zt.grad is None and zs.grad.abs().sum() > 0
    assert not loss.queue.requires_grad


def test_gradient_matches_finite_differences():
    torch.manual_seed(3)
    loss = RRDLoss(queue_size=12, embed_dim=5).double()
    memory = loss.queue.clone()
    zt = unit(3, 5)

    def fn(zs):
        # Reset the memory: each evaluation must see the same keys.
        loss.queue.copy_(memory)
        loss.queue_ptr.zero_()
        return loss(zs, zt)

    assert torch.autograd.gradcheck(fn, (unit(3, 5).requires_grad_(),))


def test_memory_holds_last_rows_in_write_order():
    torch.manual_seed(4)
    size = 16
    loss = RRDLoss(queue_size=size, embed_dim=4)
    expected, ptr = loss.queue.clone(), 0
    written = []
    # Sizes that do not divide 16, one larger than the memory, and a last,
    # smaller batch.
    for batch in (5, 7, 3, 20, 6, 2):
        zt = unit(batch, 4, dtype=torch.float32)
        loss(unit(batch, 4, dtype=torch.float32), zt)
        expected, ptr = written_row_by_row(expected, ptr, zt)
        written.append(zt)
        torch.testing.assert_close(loss.queue, expected, rtol=0, atol=0)
        assert loss.queue_ptr.tolist() == [ptr]
    last = torch.cat(written)[-size:]
    torch.testing.assert_close(
        torch.roll(loss.queue, -ptr, dims=0), last, rtol=0, atol=0)


def test_state_dict_round_trip():
    torch.manual_seed(5)
    loss = RRDLoss(queue_size=20, embed_dim=4)
    for batch in (7, 9):
        loss(unit(batch, 4, dtype=torch.float32),
             unit(batch, 4, dtype=torch.float32))
    state = loss.state_dict()
    assert set(state) == {'queue', 'queue_ptr'}
    restored = RRDLoss(queue_size=20, embed_dim=4)
    restored.load_state_dict(state)
    torch.testing.assert_close(restored.queue, loss.queue, rtol=0, atol=0)
    assert restored.queue_ptr.tolist() == loss.queue_ptr.tolist() == [16]
    zs, zt = unit(6, 4, dtype=torch.float32), unit(6, 4, dtype=torch.float32)
    assert restored(zs, zt).item() == loss(zs, zt).item()
    torch.testing.assert_close(restored.queue, loss.queue, rtol=0, atol=0)


def test_initial_memory_has_unit_rows():
    loss = RRDLoss()
    assert loss.queue.shape == (16384, 128)
    torch.testing.assert_close(loss.queue.norm(dim=1), torch.ones(16384))
    assert loss.queue_ptr.dtype == torch.long


def test_presets_and_overrides():
    default = RRDLoss(queue_size=8, embed_dim=2)
    assert (default.tau_s, default.tau_t, default.enqueue_first) == \
        (0.04, 0.1, False)
    assert RRD_PRESETS['2024'] == dict(
        tau_s=0.04, tau_t=0.1, enqueue_first=False)
    new = RRDLoss(queue_size=8, embed_dim=2, preset='2025')
    assert (new.tau_s, new.tau_t, new.enqueue_first) == (0.1, 0.02, True)
    mixed = RRDLoss(queue_size=8, embed_dim=2, preset='2025', tau_t=0.05,
                    enqueue_first=False)
    assert (mixed.tau_s, mixed.tau_t, mixed.enqueue_first) == \
        (0.1, 0.05, False)
    # What `--cfg-options ...loss_rrd.preset=2025` passes: an int.
    year = RRDLoss(queue_size=8, embed_dim=2, preset=2025)
    assert (year.tau_s, year.tau_t, year.enqueue_first) == (0.1, 0.02, True)


@pytest.mark.parametrize('kwargs, match', [
    (dict(preset='2023'), 'preset'),
    (dict(preset=2023), 'preset'),
    (dict(queue_size=0), 'queue_size'),
    (dict(embed_dim=2.5), 'embed_dim'),
    (dict(tau_s=0.), 'tau_s'),
    (dict(tau_t=-1.), 'tau_t'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RRDLoss(**kwargs)


def test_bad_inputs():
    loss = RRDLoss(queue_size=8, embed_dim=4)
    with pytest.raises(ValueError, match='embed_dim'):
        loss(torch.randn(2, 5), torch.randn(2, 5))
    with pytest.raises(ValueError, match='batch size'):
        loss(torch.randn(2, 4), torch.randn(3, 4))
    assert loss.queue_ptr.item() == 0


def test_connector():
    torch.manual_seed(6)
    conn = MODELS.build(dict(type='EmbedConnector', dim_in=6, dim_out=3))
    x = torch.randn(4, 6, 1, 1)
    expected = F.normalize(x.flatten(1) @ conn.linear.weight.t() +
                           conn.linear.bias, dim=1)
    torch.testing.assert_close(conn(x), expected)
    torch.testing.assert_close(conn(x.flatten(1)), expected)
    # A zero feature with a zero bias normalises to zero, not NaN.
    torch.nn.init.zeros_(conn.linear.bias)
    assert torch.equal(conn(torch.zeros(2, 6)), torch.zeros(2, 3))
    with pytest.raises(TypeError, match='data_idx'):
        conn((x, ))
    with pytest.raises(ValueError, match='dim_in'):
        conn(torch.randn(4, 7))


def test_frozen_connector_has_no_optimizer_state():
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(7)
    model = torch.nn.ModuleDict(dict(
        s=MODELS.build(dict(type='EmbedConnector', dim_in=6, dim_out=3)),
        t=MODELS.build(
            dict(type='EmbedConnector', dim_in=6, dim_out=3, frozen=True))))
    loss = RRDLoss(queue_size=8, embed_dim=3)
    frozen = [p.clone() for p in model['t'].parameters()]
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)))
    x = torch.randn(4, 6)
    for _ in range(2):
        wrapper.update_params(loss(model['s'](x), model['t'](x)))
    with_state = {id(p) for p in wrapper.optimizer.state}
    assert with_state == {id(p) for p in model['s'].parameters()}
    for before, after in zip(frozen, model['t'].parameters()):
        assert torch.equal(before, after)
