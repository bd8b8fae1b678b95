# fmnist-lowdata protocol, cross-task: KD (MMRazor KLDivergence, T=4) from
# the teacher of classes 0-4 to a student of five classes. Meaningful only
# where both label spaces are the same classes in the same order: the
# protocol runs it at --shift 0 alone (the TPAMI paper's k = 0, ordinary
# KD), where the student's task is classes 0-4 too.
_base_ = ['./kd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
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
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassSubsetDataset',
        dataset={{_base_.test_dataloader.dataset}},
        classes=_classes))
model = dict(
    architecture=dict(head=dict(num_classes=5)),
    teacher=dict(head=dict(num_classes=5)))
