# relkd_mm.compat imports this package (strict_loading_patches,
# resume_checks) before the patches run: nothing here may import an mm*
# package at module level.
from .checkpoint import (CheckpointDownloadError, CheckpointWriteError,
                         CorruptCheckpointError, UnsafeCheckpointError,
                         load_checkpoint_file, safe_globals, trust_checkpoint,
                         trusted_checkpoints)

__all__ = ['CheckpointDownloadError', 'CheckpointWriteError',
           'CorruptCheckpointError', 'UnsafeCheckpointError',
           'load_checkpoint_file', 'safe_globals', 'trust_checkpoint',
           'trusted_checkpoints']
