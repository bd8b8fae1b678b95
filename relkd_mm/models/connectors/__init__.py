
from .embed_connector import EmbedConnector  # noqa: F401
