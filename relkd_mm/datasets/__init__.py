from . import transforms  # noqa: F401
from .local import LocalCIFAR100, LocalFashionMNIST

__all__ = ['LocalCIFAR100', 'LocalFashionMNIST']
