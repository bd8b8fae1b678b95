# Runtime shared by every relkd_mm config (MMPretrain conventions).
default_scope = 'mmpretrain'
custom_imports = dict(imports=['relkd_mm'], allow_failed_imports=False)
# Strict load_from and resume, a checked resume and teacher, atomic
# checkpoint files, student-only distillation checkpoints, a CPU
# --launcher pytorch, errors that name the key (relkd_mm/runner/
# relkd_runner.py); a config without it runs MMEngine's Runner as it is.
runner_type = 'mmrazor.RelKDRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keeps the last checkpoint (resume) and never selects on the test set;
    # removes an old checkpoint only once the new one is complete.
    checkpoint=dict(
        type='mmrazor.AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

# Exact resume: random states travel with the checkpoints. A config that
# sets its own custom_hooks keeps this one in its list.
# NonFiniteLossHook stops at a NaN/inf loss before the optimizer step
# (skip=True skips such steps instead); TrainCheckHook checks labels, batch
# and memory sizes before the first step; LossBalanceHook warns once when a
# distillation term's gradient drowns the CE's or vanishes beside it (a few
# early iterations, then every 1000; nothing for a model without distiller).
custom_hooks = [
    dict(type='mmrazor.RandomStateHook'),
    dict(type='mmrazor.NonFiniteLossHook'),
    dict(type='mmrazor.TrainCheckHook'),
    dict(type='mmrazor.LossBalanceHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# TensorBoard or W&B: add their backend to `visualizer.vis_backends` in a
# config (--cfg-options cannot add one beside LocalVisBackend): see
# docs/trackers.md.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
