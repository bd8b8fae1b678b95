"""Transforms relkd_mm adds to MMPretrain's ``TRANSFORMS``."""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ConvertColorType(BaseTransform):
    """Bring ``results['img']`` to the colour type a model was trained on.

    Why: MMPretrain's ``ImageClassificationInferencer`` (and mmdeploy's
    classification task) read image files in colour, whatever the config's
    ``LoadImageFromFile`` says, so a model of grey images (Fashion-MNIST's
    ``in_channels=1``) failed on a PNG with ``expected input[1, 3, 28, 28]
    to have 1 channels``. ``tools/export_student.py`` puts this transform
    first in the exported test pipeline of every non-RGB student.

    Args:
        color_type (str): ``'grayscale'`` (an ``H x W`` array, as
            ``LoadImageFromFile(color_type='grayscale')`` gives) or
            ``'color'`` (``H x W x 3``, BGR as MMCV reads it).
    """

    def __init__(self, color_type='grayscale'):
        if color_type not in ('grayscale', 'color'):
            raise ValueError(
                f"ConvertColorType: color_type={color_type!r} must be "
                "'grayscale' or 'color'.")
        self.color_type = color_type

    def transform(self, results):
        img = results['img']
        grey = img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1)
        if self.color_type == 'grayscale' and not grey:
            code = cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 \
                else cv2.COLOR_BGR2GRAY
            img = cv2.cvtColor(img, code)
        elif self.color_type == 'grayscale' and img.ndim == 3:
            img = img[..., 0]
        elif self.color_type == 'color' and grey:
            img = np.repeat(img.reshape(*img.shape[:2], 1), 3, axis=2)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self):
        return f'{type(self).__name__}(color_type={self.color_type!r})'
