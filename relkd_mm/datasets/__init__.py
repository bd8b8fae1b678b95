from .class_subset import ClassSubsetDataset
from .local import LocalCIFAR100, LocalFashionMNIST

__all__ = ['ClassSubsetDataset', 'LocalCIFAR100', 'LocalFashionMNIST']
