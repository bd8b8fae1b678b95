"""MMEngine's ``CheckpointHook`` that a kill during a save can not leave
without a checkpoint."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmrazor.registry import HOOKS

from relkd_mm.runner.checkpoint import write_text_file


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` (same arguments) that saves
    the new checkpoint, then points ``last_checkpoint`` at it (written
    atomically), and only then removes the checkpoint that fell out of
    ``max_keep_ckpts``.

    Why: mmengine 0.10.7's hook removes the oldest checkpoint *before*
    writing the new one and writes ``last_checkpoint`` with a plain
    ``open(..., 'w')``: with ``max_keep_ckpts=1`` a SIGKILL during the save
    leaves no checkpoint at all and ``last_checkpoint`` naming a deleted
    file. Upstream: none found.

    The checkpoint file itself is written atomically by
    :class:`~relkd_mm.runner.relkd_runner.RelKDRunner` (temporary
    file, fsync, rename), and a plain ``--resume`` skips a damaged latest
    one; this hook is in every relkd_mm config through
    ``configs/_base_/default_runtime.py``::

        default_hooks = dict(
            checkpoint=dict(type='mmrazor.AtomicCheckpointHook', interval=1))
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = None
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, ckpt_filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args,
            **self.args)
        # Model parallel-like training saves shards on every rank; only
        # the main process keeps the record and removes old files.
        if not is_main_process():
            return
        write_text_file(osp.join(runner.work_dir, 'last_checkpoint'),
                        self.last_ckpt)
        if outdated is not None:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed writes folders
                self.file_backend.rmtree(path)
