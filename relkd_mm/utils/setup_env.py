def register_all_modules(init_default_scope=False):
    """Register relkd_mm's, MMPretrain's and MMRazor's modules.

    MMEngine's hub (``cfg_path='relkd_mm::...'`` in a distillation config,
    ``mmengine.hub.get_model``) calls this before building a model from one
    of relkd_mm's configs. relkd_mm has no registry of its own: its modules
    live in MMPretrain's and MMRazor's, so the model configs name their scope
    (``_scope_='mmpretrain'``) and the default scope is left alone unless
    ``init_default_scope`` asks for ``'mmpretrain'``.
    """
    import mmpretrain.utils
    import mmrazor.utils

    import relkd_mm  # noqa: F401
    mmpretrain.utils.register_all_modules(init_default_scope)
    mmrazor.utils.register_all_modules(False)
