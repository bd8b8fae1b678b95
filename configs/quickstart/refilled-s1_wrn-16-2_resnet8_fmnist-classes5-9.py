# Cross-task REFILLED stage 1: the teacher knows classes 0-4 only
# (teacher_wrn-16-2_fmnist-classes0-4.py); the student learns the disjoint
# classes 5-9 (sandal, shirt, sneaker, bag, ankle boot), labels 0-4.
_base_ = ['./refilled-s1_wrn-16-2_resnet8_fmnist.py']
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
# The teacher's head has 5 outputs of its own task; the student's 5 are
# classes 5-9. Only the teacher's embedding is used.
val_cfg = dict(_delete_=True)
model = dict(
    architecture=dict(head=dict(num_classes=5)),
    teacher=dict(head=dict(num_classes=5)))
