# The fmnist-lowdata protocol's cross-task teacher: wrn_16_2 on the
# protocol's teacher images (the first 50,000 training images) of classes
# 0-4 only, with the main teacher's recipe.
_base_ = ['../quickstart/teacher_wrn-16-2_fmnist-classes0-4.py']

train_dataloader = dict(
    batch_size=128, dataset=dict(dataset=dict(val_size=10000)))
val_dataloader = dict(dataset=dict(dataset=dict(split='val',
                                                val_size=10000)))
test_dataloader = dict(dataset=dict(dataset=dict(split='test')))

optim_wrapper = dict(optimizer=dict(lr=0.1))
param_scheduler = dict(T_max=4)
train_cfg = dict(max_epochs=4, val_interval=4)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
