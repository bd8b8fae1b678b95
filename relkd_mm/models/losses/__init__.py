
from .refilled_classifier_loss import RefilledClassifierLoss  # noqa: F401
from .refilled_tuple_loss import RefilledTupleLoss  # noqa: F401
from .rrd_loss import RRD_PRESETS, RRDLoss  # noqa: F401
from .vrm_loss import VRMLoss  # noqa: F401
from .weighted_crd_loss import WeightedCRDLoss  # noqa: F401
