from .strict_loading import CheckpointMismatchError, NonFiniteTeacherError
from .weight_init import StrictPretrainedInit

__all__ = [
    'CheckpointMismatchError', 'NonFiniteTeacherError', 'StrictPretrainedInit'
]
