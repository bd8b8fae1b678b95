"""Student-only distillation checkpoints: the frozen teacher is rebuilt
from ``teacher_ckpt`` instead of being saved in every checkpoint (see
:mod:`relkd_mm.runner.teacher_checkpoint`)."""
from mmengine.hooks import Hook
from mmrazor.registry import HOOKS

from relkd_mm.runner import teacher_checkpoint


@HOOKS.register_module()
class TeacherCheckpointHook(Hook):
    """Save distillation checkpoints without the teacher's frozen weights,
    and put them back when such a checkpoint is loaded.

    Every distillation run of relkd_mm's runner (``runner_type =
    'mmrazor.RelKDRunner'``) gets one with the defaults (no config entry
    needed). To save the teacher in every checkpoint as MMRazor does, list
    it in the config::

        custom_hooks = [..., dict(type='mmrazor.TeacherCheckpointHook',
                                  save_teacher=True)]

    Whatever ``save_teacher`` says, a checkpoint keeps its teacher when
    ``model.teacher_ckpt`` would not rebuild it exactly (no file, or the
    teacher's tensors differ from the file's: a trained teacher, moving
    BatchNorm statistics, a partial load); the log says so once. Loading
    needs no option: a student-only checkpoint is recognised by its
    ``meta['teacher_ckpt']``, and checkpoints that hold the teacher load as
    before.

    Args:
        save_teacher (bool): Keep the teacher's weights in every checkpoint.
            Defaults to False.
    """

    priority = 'NORMAL'

    def __init__(self, save_teacher=False):
        self.save_teacher = bool(save_teacher)
        self._said = None

    @staticmethod
    def _distiller(runner):
        from mmengine.model import is_model_wrapper
        from mmrazor.models import SingleTeacherDistill
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        return model if isinstance(model, SingleTeacherDistill) else None

    @staticmethod
    def _teacher_ckpt(runner):
        return (runner.cfg.get('model') or {}).get('teacher_ckpt')

    def _say(self, runner, text):
        # Once per decision, not at every checkpoint.
        if text != self._said:
            self._said = text
            runner.logger.info(text)

    def before_save_checkpoint(self, runner, checkpoint):
        model = self._distiller(runner)
        if model is None:
            return
        if self.save_teacher:
            self._say(runner, 'TeacherCheckpointHook: checkpoints keep the '
                      'teacher (save_teacher=True).')
            return
        teacher_ckpt = self._teacher_ckpt(runner)
        reason = teacher_checkpoint.why_teacher_kept(
            model, checkpoint['state_dict'], teacher_ckpt)
        if reason is not None:
            self._say(runner, f'TeacherCheckpointHook: checkpoints keep the '
                      f'teacher: {reason}.')
            return
        dropped = teacher_checkpoint.strip_teacher(checkpoint, teacher_ckpt)
        record = checkpoint['meta'][teacher_checkpoint.META_KEY]
        self._say(
            runner, f'TeacherCheckpointHook: checkpoints omit the teacher '
            f'({record["tensors"]} tensors, {dropped / 2**20:.1f} MiB): it '
            f'is rebuilt from teacher_ckpt {record["path"]!r} (sha256 '
            f'{record["sha256"][:16]}...) on resume and test; '
            'save_teacher=True keeps it.')

    def after_load_checkpoint(self, runner, checkpoint):
        model = self._distiller(runner)
        if model is None:
            return
        cfg = runner.cfg
        source = cfg.get('load_from') or 'the resumed checkpoint'
        lenient = not getattr(runner, '_resume', False) and \
            not cfg.get('load_from_strict', True)
        record = teacher_checkpoint.restore_teacher(
            model, checkpoint, source, self._teacher_ckpt(runner), lenient)
        if record is not None:
            runner.logger.info(
                f'{source}: a student-only checkpoint; its teacher '
                f'{record["path"]!r} (sha256 {record["sha256"][:16]}...) '
                'is the one loaded.')
