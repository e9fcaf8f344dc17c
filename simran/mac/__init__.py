"""The MAC layer: the slice scheduler skeleton and the intra-slice policies."""
