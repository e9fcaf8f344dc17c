"""Test-wide settings."""

import os

# notebooks executed by nbmake (and anything else reading it) shrink to tiny durations
os.environ.setdefault("SIMRAN_CI_TINY", "1")
# llama.cpp threads must not spin (see the README); set before any model loads
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
