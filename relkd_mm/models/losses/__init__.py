
from .refilled_classifier_loss import RefilledClassifierLoss  # noqa: F401
from .refilled_tuple_loss import RefilledTupleLoss  # noqa: F401
