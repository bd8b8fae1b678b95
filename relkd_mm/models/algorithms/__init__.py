
from .refilled_distill import RefilledDistill  # noqa: F401
