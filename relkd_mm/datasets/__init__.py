from .class_subset import ClassSubsetDataset
from .local import LocalCIFAR100, LocalFashionMNIST
from .transforms import ConvertColorType

__all__ = [
    'ClassSubsetDataset', 'ConvertColorType', 'LocalCIFAR100',
    'LocalFashionMNIST'
]
