"""An autouse fixture for test modules that build MMEngine Runners: a
Runner leaves its ``default_scope`` as the current DefaultScope for the
rest of the process, which would make later tests' registry lookups
(``MODELS.build(dict(type='RRDLoss'))``) search the wrong scope. Import it
into a test module to drop the scopes each test creates."""
import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def restore_default_scope():
    before = set(DefaultScope._instance_dict)
    yield
    for name in list(DefaultScope._instance_dict):
        if name not in before:
            del DefaultScope._instance_dict[name]
