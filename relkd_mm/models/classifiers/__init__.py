from .multi_view_classifier import MultiViewImageClassifier  # noqa: F401
