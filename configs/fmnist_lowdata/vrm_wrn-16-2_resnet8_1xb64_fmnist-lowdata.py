# fmnist-lowdata protocol: VRM (relkd_mm VRMLoss on the logits of the real
# and virtual views). Preset values: docs/tuning.md.
_base_ = ['../quickstart/vrm_wrn-16-2_resnet8_fmnist.py']
# Linear warm-up of the VRM weight over the first epoch (78 iterations of
# the 5,000 images at batch 64): chosen on the validation split, +1.2 over
# no warm-up (docs/tuning.md).
custom_hooks = _base_.custom_hooks + [
    dict(type='mmrazor.DistillWarmupHook', warmup_iters=78)
]
