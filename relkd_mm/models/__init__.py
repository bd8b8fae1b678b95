from . import (algorithms, backbones, connectors,  # noqa: F401
               data_preprocessors, losses)
