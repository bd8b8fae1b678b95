"""A classification data preprocessor that keeps the views of a
multi-view pipeline apart."""
import torch
from mmpretrain.models import ClsDataPreprocessor
from mmpretrain.registry import MODELS


@MODELS.register_module()
class MultiViewClsDataPreprocessor(ClsDataPreprocessor):
    """:class:`~mmpretrain.models.ClsDataPreprocessor` for samples packed by
    ``MultiView`` + ``PackInputs``, whose ``inputs`` hold several views.

    ``ClsDataPreprocessor`` treats a list of views as a list of images:
    it stacks them into one ``(V, B, C, H, W)`` tensor and decides the BGR to
    RGB conversion on the batch size instead of the channels. This one
    processes each view as a batch of its own (conversion, normalisation,
    padding) and returns ``inputs`` as a list of ``V`` tensors of shape
    ``(B, C, H, W)``, in the order of ``MultiView``'s pipelines, with the
    data samples (labels) once. Single-view batches (validation, test) are
    processed exactly as by ``ClsDataPreprocessor``.

    Args:
        **kwargs: Arguments of ``ClsDataPreprocessor``. ``batch_augments``
            (Mixup, CutMix) apply to single-view batches only: on several
            views they would mix each view with different partners.
    """

    @staticmethod
    def split_views(inputs):
        """The views of a collated batch, or None for a single view.

        ``default_collate`` gives a list of ``V`` batched ``(B, C, H, W)``
        tensors, ``pseudo_collate`` a list of ``V`` sequences of ``B``
        images; a single view is a tensor or a list of ``(C, H, W)``
        images.
        """
        if isinstance(inputs, torch.Tensor) or not inputs:
            return None
        first = inputs[0]
        if isinstance(first, (list, tuple)):
            return [list(view) for view in inputs]
        if isinstance(first, torch.Tensor) and first.dim() == 4:
            return list(inputs)
        return None

    def forward(self, data, training=False):
        views = self.split_views(data['inputs'])
        if views is None:
            return super().forward(data, training)
        if training and self.batch_augments is not None:
            raise ValueError(
                'MultiViewClsDataPreprocessor: batch_augments are not '
                f'supported on multi-view batches ({len(views)} views): they '
                'would mix each view differently. Remove batch_augments from '
                'model.data_preprocessor.')
        data_samples = data.get('data_samples')
        outputs = []
        for i, view in enumerate(views):
            # Labels are identical for every view: process them once.
            out = super().forward(
                dict(inputs=view, data_samples=data_samples if i == 0 else
                     None), training)
            outputs.append(out['inputs'])
            if i == 0:
                data_samples = out['data_samples']
        return dict(inputs=outputs, data_samples=data_samples)
