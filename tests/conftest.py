"""Test-wide settings."""

import os

# notebooks executed by nbmake (and anything else reading it) shrink to tiny durations
os.environ.setdefault("SIMRAN_CI_TINY", "1")
# llama.cpp threads must not spin (see the README); set before any model loads
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def pytest_collection_modifyitems(config, items):
    """Notebooks (executed by nbmake, ~10 s each) are slow tests: ``-m "not slow"`` skips them."""
    import pytest

    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
