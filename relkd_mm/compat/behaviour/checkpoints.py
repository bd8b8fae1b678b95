"""Checkpoints that survive a kill or a full disk, and a resume that finds
the newest intact one (patch 12 of :mod:`relkd_mm.compat`; the file writing
itself is :mod:`relkd_mm.runner.checkpoint`)."""
import os

from ..stack import _mark


# ---------------------------------------------------------------------------
# 12. mmengine: checkpoints that a kill or a full disk destroys.
# ---------------------------------------------------------------------------
def patch_mmengine_atomic_checkpoints():
    """Write checkpoints and ``last_checkpoint`` atomically, delete old
    checkpoints only after the new one is complete, and resume from the
    newest intact checkpoint when the latest one is damaged.

    Why: mmengine 0.10.7's ``CheckpointHook`` removes the oldest checkpoint
    *before* writing the new one, and neither ``save_checkpoint`` (a plain
    ``put`` of the bytes) nor ``last_checkpoint`` (``open(..., 'w')``) is
    written atomically. With ``max_keep_ckpts=1`` a SIGKILL during the save
    leaves no checkpoint at all and ``last_checkpoint`` naming a deleted
    file; a truncated or empty file then fails on ``--resume`` with a bare
    miniz ``failed finding central directory``, ``EOFError`` or
    ``checkpoint '' can not be found``; a full disk leaves a partial
    ``epoch_N.pth`` that a later ``--resume`` picks. Upstream: none found.

    Fix: local ``save_checkpoint`` writes a temporary file, fsyncs it and
    renames it over the target (:func:`relkd_mm.runner.checkpoint.
    atomic_write`); a full disk raises ``CheckpointWriteError`` naming the
    work dir and leaves the previous files untouched. The hook saves, then
    writes ``last_checkpoint`` the same way, then removes the checkpoint
    that fell out of ``max_keep_ckpts``. ``find_latest_checkpoint`` (plain
    ``--resume``) checks the file ``last_checkpoint`` names and falls back
    to the newest intact ``epoch_N``/``iter_N`` checkpoint, saying so; an
    explicitly named damaged file raises ``CorruptCheckpointError`` naming
    it and the newest intact one.
    """
    import mmengine.runner as runner_pkg
    import mmengine.runner.checkpoint as checkpoint_module
    import mmengine.runner.runner as runner_module
    from mmengine.hooks import CheckpointHook

    if getattr(CheckpointHook._save_checkpoint_with_step,
               '_relkd_mm_patched', False):
        return
    original_save = checkpoint_module.save_checkpoint

    def save_checkpoint(checkpoint, filename, file_client_args=None,
                        backend_args=None):
        from relkd_mm.runner.checkpoint import save_checkpoint_file
        local = '://' not in str(filename) and file_client_args is None \
            and (backend_args or {}).get('backend', 'local') == 'local'
        if not local:
            return original_save(checkpoint, filename, file_client_args,
                                 backend_args)
        save_checkpoint_file(checkpoint, filename)

    for module in (checkpoint_module, runner_module, runner_pkg):
        module.save_checkpoint = save_checkpoint
        module.find_latest_checkpoint = _find_latest_intact_checkpoint
    _save_checkpoint_with_step._relkd_mm_patched = True
    CheckpointHook._save_checkpoint_with_step = _save_checkpoint_with_step
    _mark('mmengine_atomic_checkpoints')


def _save_checkpoint_with_step(self, runner, step, meta):
    """``CheckpointHook._save_checkpoint_with_step`` in a crash-safe order:
    save, point ``last_checkpoint`` at it, then delete the old one."""
    from mmengine.dist import is_main_process

    from relkd_mm.runner.checkpoint import write_text_file
    outdated = None
    if self.max_keep_ckpts > 0 and not (
            self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
    ckpt_filename = self.filename_tmpl.format(step)
    self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
    runner.message_hub.update_info('last_ckpt', self.last_ckpt)
    runner.save_checkpoint(
        self.out_dir, ckpt_filename, self.file_client_args,
        save_optimizer=self.save_optimizer,
        save_param_scheduler=self.save_param_scheduler, meta=meta,
        by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
    if not is_main_process():
        return
    write_text_file(os.path.join(runner.work_dir, 'last_checkpoint'),
                    self.last_ckpt)
    if outdated is not None:
        path = self.file_backend.join_path(
            self.out_dir, self.filename_tmpl.format(outdated))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed writes folders
            self.file_backend.rmtree(path)


def _find_latest_intact_checkpoint(path):
    """MMEngine's ``find_latest_checkpoint`` that checks the file
    ``last_checkpoint`` names and falls back to the newest intact one."""
    from mmengine.logging import print_log

    from relkd_mm.runner.checkpoint import (CorruptCheckpointError,
                                            checkpoint_problem,
                                            intact_checkpoints)
    save_file = os.path.join(path, 'last_checkpoint')
    if not os.path.exists(save_file):
        print_log('Did not find last_checkpoint to be resumed.')
        return None
    with open(save_file) as f:
        named = f.read().strip()
    problem = checkpoint_problem(named) if named else None
    if named and problem is None:
        return named
    what = (f'{save_file} names {named!r}, which {problem}' if named else
            f'{save_file} is empty')
    intact = intact_checkpoints(path)
    if intact:
        print_log(f'--resume: {what}; resuming from the newest intact '
                  f'checkpoint {intact[0]} instead.', logger='current',
                  level=30)
        return intact[0]
    raise CorruptCheckpointError(
        f'--resume: {what}, and {path} holds no intact checkpoint to fall '
        'back to (the run was probably killed while saving its first '
        'one). Start the run again without --resume, or pass --resume '
        'FILE.')
