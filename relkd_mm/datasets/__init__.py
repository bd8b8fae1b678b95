from .class_subset import ClassSubsetDataset
from .local import LocalCIFAR100, LocalFashionMNIST
from .transforms import (CheckedLoadImageFromFile, ConvertColorType,
                         CorruptImageError)

__all__ = [
    'CheckedLoadImageFromFile', 'ClassSubsetDataset', 'ConvertColorType',
    'CorruptImageError', 'LocalCIFAR100', 'LocalFashionMNIST'
]
