from .distill_diagnostics_hook import DistillDiagnosticsHook  # noqa: F401
from .distill_warmup_hook import DistillWarmupHook  # noqa: F401
from .loss_balance_hook import LossBalanceHook  # noqa: F401
from .non_finite_loss_hook import NonFiniteLossHook  # noqa: F401
from .random_state_hook import RandomStateHook  # noqa: F401
from .refilled_centers_hook import RefilledCentersHook  # noqa: F401
from .teacher_checkpoint_hook import TeacherCheckpointHook  # noqa: F401
from .train_check_hook import TrainCheckHook  # noqa: F401
