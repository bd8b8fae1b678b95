# ImageNet-1k with MMPretrain's standard pipeline (RandomResizedCrop 224 +
# flip; resize 256, centre crop 224), 32 images per GPU (8 GPUs x 32 = 256).
# Layout: MMPretrain's (data/imagenet/{train,val}/ and meta/{train,val}.txt);
# with ann_file='' the class folders are scanned instead.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py']
custom_imports = dict(imports=['relkd_mm'], allow_failed_imports=False)
