"""Transforms relkd_mm adds to MMPretrain's ``TRANSFORMS``."""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine.logging import print_log
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


class CorruptImageError(OSError):
    """An image file that can not be read or decoded."""


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """MMCV's ``LoadImageFromFile`` that names the file and the fix when an
    image can not be decoded, and logs each image it skips.

    Why: mmcv 2.1.0's ``LoadImageFromFile`` reports a corrupt or truncated
    file with ``assert img is not None`` (gone under ``python -O``, and
    without a fix), and with ``ignore_empty=True`` returns ``None`` without
    a word, so the dataset silently draws another sample instead. Upstream:
    open-mmlab/mmpretrain#1427 (images not read successfully).

    Here such a file raises :class:`CorruptImageError` naming it and the
    two ways out; with ``ignore_empty=True`` (the opt-in skip) each skipped
    file is logged as a warning. MMEngine's dataset then draws another
    sample, at most ``max_refetch`` times, so a data set of only corrupt
    files still ends with an error, never a hang.

    Its arguments are those of ``LoadImageFromFile``. relkd_mm's ImageNet
    configs name it in their train and validation pipelines; test
    pipelines keep ``LoadImageFromFile``, the name MMPretrain's inferencer
    and mmdeploy replace with their own loading when a student is deployed.
    """

    def transform(self, results):
        filename = results.get('img_path')
        try:
            out = super().transform(results)
            problem = 'it could not be read' if out is None else None
        except AssertionError as exc:  # mmcv's "failed to load image"
            out, problem = None, f'it could not be decoded ({exc})'
        except (OSError, ValueError) as exc:
            if self.ignore_empty:
                raise
            out, problem = None, f'{type(exc).__name__}: {exc}'
        if problem is None:
            return out
        if self.ignore_empty:
            print_log(f'LoadImageFromFile: skipped {filename}: {problem} '
                      '(ignore_empty=True).', logger='current', level=30)
            return None
        raise CorruptImageError(
            f'LoadImageFromFile: image {filename!r}: {problem}. Replace or '
            'delete the file, or set ignore_empty=True in the '
            "pipeline's LoadImageFromFile to skip unreadable images (each "
            'skip is logged).')
