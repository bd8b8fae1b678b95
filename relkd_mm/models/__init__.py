from . import (algorithms, backbones, classifiers, connectors,  # noqa: F401
               data_preprocessors, distillers, losses, utils)
