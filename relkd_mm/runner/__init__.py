# relkd_mm.compat imports this package (the errors it re-exports) before
# the patches run: nothing here may import an mm* package at module level.
# RelKDRunner (relkd_runner.py) does, and is registered by
# relkd_mm/__init__.py after the patches.
from .checkpoint import (CheckpointDownloadError, CheckpointWriteError,
                         CorruptCheckpointError, UnsafeCheckpointError,
                         load_checkpoint_file, safe_globals, trust_checkpoint,
                         trusted_checkpoints)

__all__ = ['CheckpointDownloadError', 'CheckpointWriteError',
           'CorruptCheckpointError', 'UnsafeCheckpointError',
           'load_checkpoint_file', 'safe_globals', 'trust_checkpoint',
           'trusted_checkpoints']
