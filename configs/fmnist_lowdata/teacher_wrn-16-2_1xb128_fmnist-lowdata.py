# The fmnist-lowdata protocol's teacher (tools/benchmark.py --protocol
# fmnist-lowdata trains it once and caches it with its sha256): wrn_16_2 on
# the first 50,000 Fashion-MNIST training images. The last 10,000 are the
# protocol's validation split, never trained on by the teacher or the
# students; the t10k file is the test set.
_base_ = ['../quickstart/teacher_wrn-16-2_fmnist.py']

train_dataloader = dict(batch_size=128, dataset=dict(val_size=10000))
val_dataloader = dict(dataset=dict(split='val', val_size=10000))
test_dataloader = dict(dataset=dict(split='test'))

optim_wrapper = dict(optimizer=dict(lr=0.1))
param_scheduler = dict(T_max=4)
train_cfg = dict(max_epochs=4, val_interval=4)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
