# CRD (Tian et al., ICLR 2020) with MMRazor's CRDLoss (as WeightedCRDLoss,
# which applies its loss_weight: relkd_mm/models/losses/weighted_crd_loss.py)
# and CRDConnector:
# CE + 0.8 * CRD on the pooled features projected to 128-d, 16384 negatives
# drawn from a memory of every training sample (RepDistiller's settings).
# CRD needs each sample's dataset index and its negatives: MMRazor's
# CRDDataset wrapper and PackCRDClsInputs put `sample_idx` and
# `contrast_sample_idxs` into the data samples.
_base_ = ['../_base_/distill/cifar100_1xb64.py']

teacher_ckpt = 'checkpoints/cifar100/resnet32x4.pth'
num_train = 50000  # CIFAR-100's training set; the size of CRD's memory

model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet8x4.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet32x4.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap'),
            data_samples=dict(type='ModuleInputs', source='')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap')),
        connectors=dict(
            loss_crd_stu=dict(type='CRDConnector', dim_in=256, dim_out=128),
            loss_crd_tea=dict(type='CRDConnector', dim_in=256, dim_out=128)),
        distill_losses=dict(
            loss_crd=dict(
                type='WeightedCRDLoss',
                loss_weight=0.8,
                temperature=0.07,
                neg_num=16384,
                sample_n=num_train,
                dim_out=128,
                momentum=0.5)),
        loss_forward_mappings=dict(
            loss_crd=dict(
                s_feats=dict(
                    from_student=True, recorder='feat',
                    connector='loss_crd_stu'),
                t_feats=dict(
                    from_student=False, recorder='feat',
                    connector='loss_crd_tea'),
                data_samples=dict(
                    from_student=True, recorder='data_samples',
                    data_idx=1)))))

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmrazor.PackCRDClsInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmrazor.CRDDataset',
        dataset=dict(
            type='LocalCIFAR100',
            data_root='data/cifar100',
            split='train',
            pipeline=train_pipeline),
        neg_num=16384,
        sample_mode='exact',
        percent=1.0))
