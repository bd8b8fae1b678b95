"""A classifier trained on every view of a multi-view pipeline."""
import torch
from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS


@MODELS.register_module()
class MultiViewImageClassifier(ImageClassifier):
    """:class:`~mmpretrain.models.ImageClassifier` whose training loss is
    the cross-entropy over all the views of each sample.

    With ``MultiView`` in the train pipeline and
    :class:`~relkd_mm.models.data_preprocessors.MultiViewClsDataPreprocessor`
    as the data preprocessor, a training batch is a list of ``V`` tensors of
    ``B`` images each; the classifier runs once on their ``V * B`` rows with
    each sample's labels repeated. This is the control that VRM's evidence
    needs (``student@2B``: the student alone, trained on the same real and
    virtual views as ``VRMDistill``), and the plain way to train any
    MMPretrain classifier on several augmented views of a sample.
    Validation and test batches hold one view and run as in
    ``ImageClassifier``.
    """

    def loss(self, inputs, data_samples):
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(view.shape) for view in inputs}
            if len(shapes) != 1:
                raise ValueError(
                    'MultiViewImageClassifier: the views differ in shape '
                    f'({sorted(shapes)}): every view pipeline must end at '
                    'the same image size.')
            inputs = torch.cat(list(inputs))
            data_samples = list(data_samples) * (len(inputs) //
                                                 len(data_samples))
        return super().loss(inputs, data_samples)
