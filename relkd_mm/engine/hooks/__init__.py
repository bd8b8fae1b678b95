from .random_state_hook import RandomStateHook  # noqa: F401
from .refilled_centers_hook import RefilledCentersHook  # noqa: F401
