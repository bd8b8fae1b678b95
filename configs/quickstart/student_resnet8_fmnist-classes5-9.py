# The cross-task example's baseline: resnet8 alone on Fashion-MNIST
# classes 5-9 (labels 0-4).
_base_ = ['./student_resnet8_fmnist.py']
_classes = [5, 6, 7, 8, 9]
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
