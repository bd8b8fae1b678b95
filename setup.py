from setuptools import setup

# All metadata is in setup.cfg; this file lets `pip install -e .` work with
# setuptools versions that predate PEP 660.
setup()
