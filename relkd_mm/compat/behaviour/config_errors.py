"""A ``relkd_mm::`` config path that does not exist, named as the user
wrote it (patch 5, ``cfg_path_errors``, of :mod:`relkd_mm.compat`).
(Unknown arguments and wrong values are
:class:`~relkd_mm.runner.relkd_runner.RelKDRunner`'s to name,
:mod:`relkd_mm.runner.build_errors`; unknown top-level keys
:class:`~relkd_mm.engine.hooks.TrainCheckHook`'s to warn about.)"""
import os

from ..stack import _mark


# ---------------------------------------------------------------------------
# 5. mmengine: ``relkd_mm::`` config paths: a missing one reported by its
# internal ``.mim`` path.
# ---------------------------------------------------------------------------
def patch_cfg_path_errors():
    """Name the ``cfg_path`` as the user wrote it when it does not exist.

    Why: ``mmengine.hub.get_config`` resolves ``relkd_mm::x.py`` to the
    package's internal ``.mim/configs`` folder and reports a missing file
    there (``file ".../relkd_mm/.mim/configs/x.py" does not exist``), after
    a ``ValueError`` listing every config of the model index: neither the
    path in the config nor the repository's ``configs/`` folder appears.
    Upstream: none found.

    Fix: ``get_config`` re-raises ``FileNotFoundError`` naming the
    ``cfg_path`` as written, the file it stands for (symlinks resolved:
    ``configs/...`` of the checkout) and close file names in that folder.
    """
    import functools

    import mmengine.hub as hub_pkg
    import mmengine.hub.hub as hub_module
    original = hub_module.get_config
    if getattr(original, '_relkd_mm_patched', False):
        return

    @functools.wraps(original)
    def get_config(cfg_path, pretrained=False):
        try:
            return original(cfg_path, pretrained)
        except FileNotFoundError as exc:
            raise _missing_cfg_path(cfg_path, exc) from None

    get_config._relkd_mm_patched = True
    hub_module.get_config = hub_pkg.get_config = get_config
    _mark('cfg_path_errors')


def _missing_cfg_path(cfg_path, exc):
    import difflib

    from mmengine.config.utils import _get_package_and_cfg_path
    from mmengine.utils import get_installed_path
    try:
        package, relative = _get_package_and_cfg_path(cfg_path)
        configs = os.path.join(get_installed_path(package), '.mim',
                               'configs')
    except Exception:  # not a package path: MMEngine's message is enough
        return exc
    target = os.path.realpath(os.path.join(configs, relative))
    folder = os.path.dirname(target)
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    close = difflib.get_close_matches(os.path.basename(target), names, n=3)
    hint = f' Close names there: {close}.' if close else (
        '' if names else f' The folder {folder} does not exist either.')
    return FileNotFoundError(
        f'cfg_path={cfg_path!r}: no such config; {package}:: paths are '
        f'relative to its configs/ folder, and {target} does not '
        f'exist.{hint}')
