from .multi_view import MultiViewClsDataPreprocessor  # noqa: F401
