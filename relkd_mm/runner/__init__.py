from .checkpoint import (CheckpointDownloadError, CheckpointWriteError,
                         CorruptCheckpointError, UnsafeCheckpointError,
                         load_checkpoint_file, safe_globals, trust_checkpoint,
                         trusted_checkpoints)

__all__ = ['CheckpointDownloadError', 'CheckpointWriteError',
           'CorruptCheckpointError', 'UnsafeCheckpointError',
           'load_checkpoint_file', 'safe_globals', 'trust_checkpoint',
           'trusted_checkpoints']
