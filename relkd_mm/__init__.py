"""relkd_mm: relational knowledge distillation for OpenMMLab.

Importing the package applies the upstream compatibility patches
(:mod:`relkd_mm.compat`) and registers every component: losses,
connectors, algorithms, hooks and the runner of relkd_mm's configs
(``RelKDRunner``) into MMRazor's registries; backbones, datasets and
transforms into MMPretrain's.
"""
import warnings

# isort: off
with warnings.catch_warnings():
    # Known-harmless notices the pinned stack raises while it imports
    # (relkd_mm.utils.console.HARMLESS): mmengine's use of pkg_resources and
    # mmcv-lite's missing CUDA op, which no classifier uses.
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    # The patches must run before anything imports an mm* package.
    from . import compat

    compat.apply_all()

    from .version import __version__  # noqa: E402
    from . import datasets, engine, models  # noqa: E402,F401
    from .runner import relkd_runner  # noqa: E402,F401
# isort: on

__all__ = ['__version__', 'compat', 'datasets', 'engine', 'models']
