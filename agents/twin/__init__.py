"""Network digital-twin tasks in the manner of Hermes (papers/000): simran as ground truth.

* :mod:`agents.twin.tasks` — the four tasks on hermes10 (statements, instances, input files);
* :mod:`agents.twin.truth` — their answers, computed by simran's kernel;
* :mod:`agents.twin.scoring` — error measures and the success criterion (error < 10 %);
* :mod:`agents.twin.blocks` — the expert blocks the generated code may call;
* :mod:`agents.twin.blueprint` — the designer's TOML blueprints;
* :mod:`agents.twin.sandbox` — generated code runs only there (separate limited process);
* :mod:`agents.twin.chain` — the Hermes chain of LLM agents and the CoT / coder baselines;
* :mod:`agents.twin.reference` — expert-written reference solutions (labelled as such);
* :mod:`agents.twin.evaluate` — ``python -m agents.twin.evaluate``: success tables.

Importing this package is light (no simran, no LLM client); see docs/hermes.md.
"""
