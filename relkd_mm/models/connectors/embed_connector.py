"""Linear embedding head with L2 normalisation (RRD, CRD-style)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.models.architectures.connectors.base_connector import \
    BaseConnector
from mmrazor.registry import MODELS


@MODELS.register_module()
class EmbedConnector(BaseConnector):
    """``z = normalize(W flatten(x) + b)``: flatten, Linear, L2-normalise.

    The same computation as MMRazor's ``CRDConnector``, with two additions
    that RRD needs:

    * ``frozen=True`` for the teacher side. Its output is only ever used
      detached, so its weights would never change; marking them
      ``requires_grad=False`` keeps them out of the optimizer (no state) and
      out of DDP's gradient reduction (no ``find_unused_parameters``). The
      head then stays the fixed random projection it is in the official
      code.
    * An all-zero feature row normalises to zero (``F.normalize``'s
      clamped norm) instead of NaN.

    Args:
        dim_in (int): Number of input features after flattening (the
            channels of the pooled feature map).
        dim_out (int): Embedding dimension. Defaults to 128.
        frozen (bool): Freeze the head and return its output without a
            graph. Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (PyTorch's ``nn.Linear`` initialisation, as the official code).
    """

    def __init__(self, dim_in, dim_out=128, frozen=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.dim_in = dim_in
        self.frozen = frozen
        self.linear = nn.Linear(dim_in, dim_out)
        if frozen:
            self.linear.requires_grad_(False)

    def forward_train(self, feature):
        """Embed ``feature`` of shape ``(N, dim_in)`` or ``(N, dim_in, 1,
        1)``; returns ``(N, dim_out)`` unit rows."""
        if not isinstance(feature, torch.Tensor):
            raise TypeError(
                f'EmbedConnector: got a {type(feature).__name__}, expected a '
                'tensor; a neck returns a tuple, so set data_idx=0 in the '
                'loss_forward_mappings entry.')
        x = feature.flatten(1)
        if x.size(1) != self.dim_in:
            raise ValueError(
                f'EmbedConnector: dim_in={self.dim_in} but the recorded '
                f'feature {tuple(feature.shape)} has {x.size(1)} values per '
                'sample; set dim_in to the channels of the pooled feature.')
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.frozen):
            return F.normalize(self.linear(x), dim=1)
