# VRM, resnet56 -> DeiT-Tiny on CIFAR-100 (paper: +14.44 over DeiT-Tiny
# trained alone, 65.08, i.e. about 79.5). MMPretrain's VisionTransformer
# (deit-tiny: 12 layers, 192-d, 3 heads) on 32 x 32 images in 4 x 4 patches
# (64 tokens); AdamW lr 5e-4, wd 0.05, batch 128, 300 epochs, 20 linear
# warm-up epochs, then cosine.
_base_ = ['../_base_/distill/vrm_cifar100_1xb64.py']

teacher_ckpt = 'checkpoints/cifar100/resnet56.pth'

model = dict(
    architecture=dict(
        _delete_=True,
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(
            type='VisionTransformer',
            arch='deit-tiny',
            img_size=32,
            patch_size=4,
            drop_path_rate=0.1),
        neck=None,
        head=dict(
            type='VisionTransformerClsHead',
            num_classes=100,
            in_channels=192,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5)),
        init_cfg=[
            dict(type='TruncNormal', layer='Linear', std=.02),
            dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
        ]),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet56.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.layers.head'))))

train_dataloader = dict(batch_size=128)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
        }))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        end=20,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=280,
        by_epoch=True,
        begin=20,
        end=300,
        eta_min=1e-5,
        convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=300)
auto_scale_lr = dict(base_batch_size=128)
