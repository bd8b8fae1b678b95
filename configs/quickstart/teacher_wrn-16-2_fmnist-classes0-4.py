# A teacher for the cross-task REFILLED example: wrn_16_2 on Fashion-MNIST
# classes 0-4 only (T-shirt, trouser, pullover, dress, coat), labels 0-4.
_base_ = ['./teacher_wrn-16-2_fmnist.py']
_classes = [0, 1, 2, 3, 4]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassSubsetDataset',
        dataset={{_base_.train_dataloader.dataset}},
        classes=_classes))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassSubsetDataset',
        dataset={{_base_.val_dataloader.dataset}},
        classes=_classes))
test_dataloader = val_dataloader
model = dict(head=dict(num_classes=5))
