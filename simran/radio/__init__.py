"""The radio layer: topology, sector antennas, channel, link abstraction, energy (TR 38.901,
TS 38.214 / 38.306, EARTH). Depends on nothing above it."""
