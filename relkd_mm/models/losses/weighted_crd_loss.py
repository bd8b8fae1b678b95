"""MMRazor's ``CRDLoss`` with its ``loss_weight`` applied, under its own
name (``type='WeightedCRDLoss'``), for the CRD baseline of configs/kd/."""
from mmrazor.models.losses import CRDLoss
from mmrazor.registry import MODELS


@MODELS.register_module()
class WeightedCRDLoss(CRDLoss):
    """:class:`~mmrazor.models.losses.CRDLoss` that multiplies its value by
    ``loss_weight``.

    Why: mmrazor 1.0.0's ``CRDLoss.__init__`` stores ``loss_weight`` and its
    ``forward`` returns ``s_loss + t_loss`` without it
    (``mmrazor/models/losses/crd_loss.py``, still so on MMRazor's main
    branch; no upstream issue found): the CRD baseline's ``loss_weight=0.8``
    (RepDistiller's ``-b 0.8``) would train as 1.0, and ``loss_weight=0``
    would not switch CRD off. Every other MMRazor loss multiplies by its
    weight. A subclass that configs name, not a patch of ``CRDLoss``: a
    config that asks for MMRazor's ``CRDLoss`` gets MMRazor's, unchanged
    (``tests/test_losses/test_crd_loss_weight.py`` fails once upstream
    applies the weight itself, so that this class can go).

    Arguments, memory and sampling are ``CRDLoss``'s.
    """

    def forward(self, s_feats, t_feats, data_samples):
        return self.loss_weight * super().forward(s_feats, t_feats,
                                                  data_samples)
