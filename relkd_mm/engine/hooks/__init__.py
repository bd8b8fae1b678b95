
from .refilled_centers_hook import RefilledCentersHook  # noqa: F401
