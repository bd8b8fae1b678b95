from .checked_distiller import CheckedConfigurableDistiller  # noqa: F401
