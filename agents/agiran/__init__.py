"""The AGI-RAN vehicle demo (papers/004 §4, §6, Fig. 16; papers/003 §V): all three loops at once.

Modules
-------
``smo``
    The SMO's observability agent (``kind = "agiran_smo"``): SLA-violation detection with a hold
    time, renegotiation requests, and the recovery probe while the cell is off.
``metrics``
    The ``agiran.*`` run metrics (PRB·s, SLA-satisfied time, energy, negotiations) from a results
    file, and the comparison against the static-SLA twin.
``compare``
    ``python -m agents.agiran.compare``: runs a scenario and its static-SLA twin (same seed, same
    trace) and prints the saving.
``figures``
    Fig. 16 a–d and Table 3's message trace from the results.
``make_trace``
    ``python -m agents.agiran.make_trace``: writes ``datasets/agi_ran_vehicle.h5``.
"""
