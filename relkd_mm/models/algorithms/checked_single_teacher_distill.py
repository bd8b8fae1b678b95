"""Single-teacher distillation whose teacher is loaded strictly and can be
checked against its expected accuracy."""
import glob
import importlib.util
import os.path as osp
from urllib.parse import urlparse

import mmengine
from mmengine.logging import print_log
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_to_model)
from mmrazor.models import SingleTeacherDistill
from mmrazor.registry import MODELS

from ..utils import strict_loading


@MODELS.register_module()
class CheckedSingleTeacherDistill(SingleTeacherDistill):
    """MMRazor's ``SingleTeacherDistill`` with a teacher that can not be
    silently wrong; the base of :class:`VRMDistill` and
    :class:`RefilledDistill`.

    * ``teacher_ckpt`` is loaded strictly. MMRazor 1.0.0 loads it with
      ``load_checkpoint(strict=False)``: a checkpoint of another
      architecture, or a distillation checkpoint whose keys carry a prefix,
      only logs a warning and the run distils from a random teacher
      (open-mmlab/mmrazor#650 shows the symptom). Here every key, shape and
      value must fit (:mod:`relkd_mm.models.utils.strict_loading`), or
      :class:`~relkd_mm.models.utils.CheckpointMismatchError` names the
      keys; weights holding NaN or inf raise
      :class:`~relkd_mm.models.utils.NonFiniteTeacherError` naming the file.
    * Where the teacher's weights come from is recorded
      (``_teacher_source``): relkd_mm's runner refuses to train from a
      teacher that nothing loaded (``teacher_ckpt`` unset, no
      ``load_from``/resume checkpoint holding it, no ``StrictPretrained``
      init of the whole teacher) unless ``allow_random_teacher=True``.
    * ``teacher_expected_top1`` (percent): relkd_mm's runner evaluates the
      teacher on the validation set before the first iteration and refuses
      to train when it scores more than ``teacher_top1_margin`` points
      below (:mod:`relkd_mm.runner.teacher_eval`): a teacher that loads but
      is bad (a class-count or label-order change, a released checkpoint
      scoring 70.27 instead of the 74.31 claimed) is found before the
      schedule, not at its first validation.

    Args:
        distiller (dict): The distiller's config, e.g.
            ``dict(type='CheckedConfigurableDistiller', ...)``.
        teacher (dict | BaseModel): The teacher or its config.
        teacher_ckpt (str, optional): The teacher's checkpoint. Defaults to
            None.
        teacher_ckpt_strict (bool): Refuse a ``teacher_ckpt`` that does not
            fit the teacher. ``False`` loads the matching keys and logs the
            others. Defaults to True.
        allow_random_teacher (bool): Train even if nothing loaded the
            teacher (logged as a warning; for tests). Defaults to False.
        teacher_expected_top1 (float | str, optional): The teacher's
            expected top-1 (percent) on the validation set; None: no check;
            ``'metafile'``: the top-1 MMPretrain's metafile gives for the
            model-zoo checkpoint ``teacher_ckpt``. Defaults to None.
        teacher_top1_margin (float): How many points below
            ``teacher_expected_top1`` the teacher may score. Defaults to
            1.0.
        **kwargs: The other arguments of
            :class:`~mmrazor.models.SingleTeacherDistill`.
    """

    def __init__(self,
                 distiller,
                 teacher,
                 teacher_ckpt=None,
                 *,
                 teacher_ckpt_strict=True,
                 allow_random_teacher=False,
                 teacher_expected_top1=None,
                 teacher_top1_margin=1.0,
                 **kwargs):
        # MMRazor's non-strict load is skipped: the teacher is loaded below.
        super().__init__(distiller, teacher, teacher_ckpt=None, **kwargs)
        # Where the teacher's weights come from; None until something loads
        # them (teacher_ckpt here, load_from/resume or a StrictPretrained
        # init later). Training refuses a teacher that stays random.
        self._teacher_source = None
        self.allow_random_teacher = bool(allow_random_teacher)
        if teacher_ckpt:
            self._load_teacher(teacher_ckpt, teacher_ckpt_strict)
            # Keeps init_weights() from overwriting the loaded weights.
            self.teacher._is_init = True
            self._teacher_source = f'teacher_ckpt={teacher_ckpt!r}'
        if teacher_expected_top1 == 'metafile':
            teacher_expected_top1 = self._metafile_expectation(teacher_ckpt)
        for key, value in (('teacher_expected_top1', teacher_expected_top1),
                           ('teacher_top1_margin', teacher_top1_margin)):
            if value is None and key == 'teacher_expected_top1':
                continue
            if not _is_number(value) or not 0 <= value <= 100:
                raise ValueError(
                    f'{type(self).__name__}: {key}={value!r} must be a '
                    'number of percent (points) between 0 and 100, '
                    "e.g. the teacher's top-1 of configs/teachers/"
                    'README.md or of its MMPretrain metafile.')
        self.teacher_expected_top1 = teacher_expected_top1
        self.teacher_top1_margin = float(teacher_top1_margin)

    def _load_teacher(self, filename, strict):
        """Load ``filename`` into the teacher, every key checked unless
        ``strict`` is False (the differences are then logged)."""
        teacher = self.teacher
        checkpoint = _load_checkpoint(filename, map_location='cpu')
        state = strict_loading.state_dict_of(checkpoint)
        # Named as the teacher's NaN before the strict check names the keys.
        strict_loading.check_state_finite(teacher, state, '',
                                          f'teacher_ckpt={filename!r}')
        if strict:
            strict_loading.check(
                teacher, state, filename, 'teacher_ckpt',
                'To load only the matching weights on purpose, set '
                '`model.teacher_ckpt_strict=False`.')
        else:
            diff = strict_loading.describe(
                *strict_loading.compare(teacher, state))
            if diff:
                print_log(f'teacher_ckpt {filename!r} loaded partially '
                          f'(teacher_ckpt_strict=False): {diff}',
                          logger='current', level=30)
        _load_checkpoint_to_model(teacher, checkpoint, strict=False,
                                  logger='current')
        # "loaded" only when the teacher holds the file's tensors: a copy
        # that failed (MMEngine logs it and goes on) is an error naming them.
        strict_loading.verify_copied(teacher, state, filename,
                                     'teacher_ckpt')
        strict_loading.check_teacher_finite(teacher,
                                            f'teacher_ckpt={filename!r}')
        print_log(f'teacher_ckpt: loaded {filename}', logger='current')

    def _metafile_expectation(self, teacher_ckpt):
        """``teacher_expected_top1='metafile'``: the top-1 that MMPretrain's
        metafile gives for the zoo checkpoint ``teacher_ckpt``."""
        found = _metafile_top1(teacher_ckpt) if teacher_ckpt else None
        if found is None:
            raise ValueError(
                f"{type(self).__name__}: teacher_expected_top1='metafile' "
                'looks the teacher_ckpt up in the metafiles of MMPretrain\'s '
                f'model zoo, but teacher_ckpt={teacher_ckpt!r} is in none of '
                'them (a zoo URL or a local copy with the same file name '
                'is). Give the number instead, e.g. '
                'model.teacher_expected_top1=74.31 (configs/teachers/'
                'README.md lists the CIFAR-100 teachers).')
        top1, where = found
        print_log(f'teacher_expected_top1={top1} from the metafile {where}',
                  logger='current')
        return top1


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _metafile_top1(checkpoint):
    """``(top-1, where)`` of an MMPretrain model-zoo checkpoint (a URL, or
    a local copy under the same file name) from the metafiles installed
    with mmpretrain, or None when no metafile lists it."""
    name = osp.basename(urlparse(str(checkpoint)).path)
    spec = importlib.util.find_spec('mmpretrain')
    if not name or spec is None or spec.origin is None:
        return None
    root = osp.join(osp.dirname(spec.origin), '.mim', 'configs')
    for path in sorted(glob.glob(osp.join(root, '*', 'metafile.yml'))):
        for model in (mmengine.load(path) or {}).get('Models') or []:
            if osp.basename(str(model.get('Weights') or '')) != name:
                continue
            for result in model.get('Results') or []:
                top1 = (result.get('Metrics') or {}).get('Top 1 Accuracy')
                if top1 is not None:
                    where = (f'{osp.relpath(path, root)} '
                             f'({model.get("Name")}, {result.get("Dataset")})')
                    return float(top1), where
    return None
