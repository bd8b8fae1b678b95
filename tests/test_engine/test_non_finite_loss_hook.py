"""NonFiniteLossHook: a NaN/inf loss stops training before the optimizer
step (naming the loss and the iteration), or is skipped without a trace."""
import logging

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.runner import Runner

from relkd_mm.engine.hooks.non_finite_loss_hook import NonFiniteLossHook

BAD_ITER = 3  # 1-based: the third batch holds a NaN


class MemoryModel(BaseModel):
    """A linear model with BatchNorm statistics and a FIFO memory written in
    the forward pass (like RRD's), and two losses."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(2)
        self.fc = nn.Linear(2, 1)
        self.register_buffer('memory', torch.zeros(4, 2))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.bn(torch.stack(inputs))
        self.memory.copy_(torch.cat([self.memory[x.size(0):], x.detach()]))
        out = self.fc(x)
        return dict(loss_fit=out.pow(2).mean(), loss_reg=x.mean() * 0)


class Data(torch.utils.data.Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        x = torch.full((2, ), float(i + 1))
        if i // 2 == BAD_ITER - 1:
            x[0] = float('nan')
        return dict(inputs=x)


def make_runner(tmp_path, hook):
    return Runner(
        model=MemoryModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=Data(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate'),
            batch_size=2,
            num_workers=0),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=[hook],
        default_hooks=dict(checkpoint=None, logger=dict(
            type='LoggerHook', interval=1)),
        randomness=dict(seed=0))


class Recorder(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_raise_names_loss_and_iteration_before_the_step(tmp_path):
    runner = make_runner(tmp_path, NonFiniteLossHook())
    states = []
    real_step = runner.model.train_step

    def spy(*args, **kwargs):
        states.append({k: v.clone()
                       for k, v in runner.model.state_dict().items()})
        return real_step(*args, **kwargs)

    runner.model.train_step = spy
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    msg = str(info.value)
    assert f'iteration {BAD_ITER} (epoch 1)' in msg
    assert '`loss_fit` = nan' in msg and '`loss_reg` = nan' in msg
    assert 'skip=True' in msg
    # The parameters are those from before the bad step.
    before_bad = states[BAD_ITER - 1]
    for name, param in runner.model.named_parameters():
        assert torch.equal(param, before_bad[name]), name
        assert torch.isfinite(param).all()


def test_skip_restores_buffers_and_logs(tmp_path):
    hook = NonFiniteLossHook(skip=True)
    runner = make_runner(tmp_path, hook)
    recorder = Recorder()
    logger = MMLogger.get_current_instance()
    logger.addHandler(recorder)
    try:
        runner.train()
    finally:
        logger.removeHandler(recorder)
    assert hook.skipped == 1
    assert runner.iter == 4
    model = runner.model
    for name, tensor in model.state_dict().items():
        assert torch.isfinite(tensor.float()).all(), name
    # The memory holds the last two (finite) batches, not the bad one.
    assert torch.isfinite(model.memory).all()
    assert any(f'skipped iteration {BAD_ITER}' in m and 'loss_fit' in m
               for m in recorder.messages)


def test_too_many_skips_raise(tmp_path):
    class AllNaN(Data):

        def __getitem__(self, i):
            return dict(inputs=torch.full((2, ), float('nan')))

    runner = make_runner(tmp_path, NonFiniteLossHook(
        skip=True, max_consecutive_skips=2))
    runner.train_dataloader.dataset.__class__ = AllNaN
    with pytest.raises(FloatingPointError,
                       match='after 2 consecutive skipped steps'):
        runner.train()


def test_bad_argument():
    with pytest.raises(ValueError, match='max_consecutive_skips=0'):
        NonFiniteLossHook(max_consecutive_skips=0)


def test_in_default_runtime(repo_root):
    from mmengine.config import Config
    cfg = Config.fromfile(f'{repo_root}/configs/_base_/default_runtime.py')
    types = [h['type'] for h in cfg.custom_hooks]
    assert 'mmrazor.NonFiniteLossHook' in types
