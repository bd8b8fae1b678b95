from .checked_single_teacher_distill import \
    CheckedSingleTeacherDistill  # noqa: F401
from .refilled_distill import RefilledDistill  # noqa: F401
from .teacher import teacher_forward  # noqa: F401
from .vrm_distill import VRMDistill  # noqa: F401
