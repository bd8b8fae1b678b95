"""``init_cfg=dict(type='StrictPretrained', ...)``: MMEngine's
``Pretrained`` initializer with a strict check of the checkpoint."""
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_with_prefix,
                                        load_state_dict)

from .strict_loading import check, state_dict_of, verify_copied

#: The ``init_cfg`` a message names.
WHAT = "init_cfg=dict(type='StrictPretrained')"


@WEIGHT_INITIALIZERS.register_module(name='StrictPretrained')
class StrictPretrainedInit(PretrainedInit):
    """Initialize a module from a checkpoint that must fit it.

    MMEngine 0.10.7's ``Pretrained`` loads with ``strict=False``: a
    checkpoint of another architecture, or keys under another prefix, only
    log a warning and the module keeps its random weights. This initializer
    checks every key, shape and value of the checkpoint (under ``prefix``
    if given) against the module before loading, and that every tensor was
    copied after it, raising
    :class:`~relkd_mm.models.utils.CheckpointMismatchError` naming the keys.

    MMEngine applies ``type='Pretrained'`` after the module's children have
    run their own ``init_weights`` (so that they do not overwrite it), and
    any other type before. This initializer therefore initialises the
    children itself first: the loaded weights are the last word, as with
    ``Pretrained``. List it last where ``init_cfg`` is a list.

    A whole module loaded strictly is marked as loaded from the file
    (``_relkd_pretrained_from``): a teacher initialised so counts as loaded
    for the check that refuses to train from a random teacher.

    Args:
        checkpoint (str): The checkpoint file (or URL) to load.
        prefix (str, optional): Load only the keys under this prefix of the
            checkpoint (e.g. ``'backbone.'``). Defaults to None.
        map_location (str): Where to map the tensors. Defaults to 'cpu'.
        strict (bool): Refuse a checkpoint that does not fit. ``False``
            loads the matching keys, as ``Pretrained`` does. Defaults to
            True.
    """

    def __init__(self, checkpoint, prefix=None, map_location='cpu',
                 strict=True):
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.strict = strict

    def __call__(self, module):
        _init_children(module)
        if self.prefix is None:
            state = state_dict_of(
                _load_checkpoint(self.checkpoint, self.map_location))
        else:
            state = _load_checkpoint_with_prefix(
                self.prefix, self.checkpoint, map_location=self.map_location)
        if self.strict:
            check(
                module, state, self.checkpoint, WHAT,
                'To load only the matching weights on purpose, add '
                '`strict=False` to that init_cfg.')
        print_log(f'load {self.prefix or "model"} from: {self.checkpoint}',
                  logger='current')
        load_state_dict(module, state, strict=False, logger='current')
        if self.strict:
            verify_copied(module, state, self.checkpoint, WHAT)
        if self.prefix is None and self.strict:
            module._relkd_pretrained_from = f'Pretrained {self.checkpoint!r}'
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())


def _init_children(module):
    """What ``BaseModule.init_weights`` does for the children between the
    other initializers and ``Pretrained``; the children are then marked
    initialised and it skips them."""
    for child in module.children():
        if is_model_wrapper(child) and not hasattr(child, 'init_weights'):
            child = child.module
        if hasattr(child, 'init_weights') and \
                not getattr(child, 'is_init', False):
            child.init_weights()
            if hasattr(child, '_params_init_info'):
                update_init_info(
                    child,
                    init_info='Initialized by user-defined `init_weights` '
                    f'in {child.__class__.__name__} ')
