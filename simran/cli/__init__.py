"""The ``simran`` command (``simran.cli.main:main``)."""
