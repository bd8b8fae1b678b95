from .checkpoint import (UnsafeCheckpointError, load_checkpoint_file,
                         safe_globals, trust_checkpoint, trusted_checkpoints)

__all__ = ['UnsafeCheckpointError', 'load_checkpoint_file', 'safe_globals',
           'trust_checkpoint', 'trusted_checkpoints']
