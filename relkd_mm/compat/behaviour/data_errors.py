"""Images that can not be decoded, reported naming the file (patch 10 of
:mod:`relkd_mm.compat`). (Empty or missing data sets are
:class:`~relkd_mm.runner.relkd_runner.RelKDRunner`'s to report, images
whose channels differ from the model's
:class:`~relkd_mm.engine.hooks.TrainCheckHook`'s.)"""
from ..stack import _mark


# ---------------------------------------------------------------------------
# 10. mmcv: an undecodable image is an assert, and skipping it is silent.
# ---------------------------------------------------------------------------
class CorruptImageError(OSError):
    """An image file that can not be read or decoded."""


def patch_load_image_errors():
    """Name the file and the fix when an image can not be decoded, and log
    each image skipped under ``ignore_empty=True``.

    Why: mmcv 2.1.0's ``LoadImageFromFile`` reports a corrupt or truncated
    file with ``assert img is not None`` (gone under ``python -O``, and
    without a fix), and with ``ignore_empty=True`` returns ``None`` without
    a word, so the dataset silently draws another sample instead. Upstream:
    open-mmlab/mmpretrain#1427 (images not read successfully).

    Fix: such a file raises :class:`CorruptImageError` naming it and the
    two ways out; with ``ignore_empty=True`` (the opt-in skip) each skipped
    file is logged as a warning. MMEngine's dataset then draws another
    sample, at most ``max_refetch`` times, so a data set of only corrupt
    files still ends with an error, never a hang.
    """
    from mmcv.transforms import LoadImageFromFile
    original = LoadImageFromFile.transform
    if getattr(original, '_relkd_mm_patched', False):
        return

    def transform(self, results):
        filename = results.get('img_path')
        try:
            out = original(self, results)
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
            from mmengine.logging import print_log
            print_log(f'LoadImageFromFile: skipped {filename}: {problem} '
                      '(ignore_empty=True).', logger='current', level=30)
            return None
        raise CorruptImageError(
            f'LoadImageFromFile: image {filename!r}: {problem}. Replace or '
            'delete the file, or set ignore_empty=True in the '
            "pipeline's LoadImageFromFile to skip unreadable images (each "
            'skip is logged).')

    transform._relkd_mm_patched = True
    LoadImageFromFile.transform = transform
    _mark('load_image_errors')
