"""User equipment: mobility models, traffic, trace-driven UEs."""
