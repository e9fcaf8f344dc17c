"""Sphinx configuration of the simran API reference (built from the docstrings).

Build: ``python -m sphinx -W -b html docs/api docs/api/_build/html`` (the ``docs`` extra), then
open ``docs/api/_build/html/index.html``. ``tests/test_docs.py`` builds it with warnings as errors.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))          # the repository (simran, agents)
sys.path.insert(0, str(HERE / "_ext"))

from simran._version import __version__  # noqa: E402

project = "simran"
author = "simran developers"
release = version = __version__
copyright = "simran developers, MIT licence"

extensions = ["sphinx.ext.autodoc", "numpydoc", "scenario_schema"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list = []

autodoc_typehints = "none"          # the numpydoc sections say types and units
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
