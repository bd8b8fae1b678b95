# ImageNet-1k with MMPretrain's standard pipeline (RandomResizedCrop 224 +
# flip; resize 256, center crop 224), 32 images per GPU (8 GPUs x 32 = 256).
# Layout: MMPretrain's (data/imagenet/{train,val}/ and meta/{train,val}.txt);
# with ann_file='' the class folders are scanned instead.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py']
# The scope is explicit so that a distiller (built in MMRazor's scope) finds
# it too: MMEngine's Runner copies this dict into `model`
# (model.setdefault('data_preprocessor', ...)).
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')
