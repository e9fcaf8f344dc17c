"""Prompts of the Hermes chain and its baselines (papers/000 §III; Table I's CoT and coder).

Each function returns ``(system, user)``. Prompts are short on purpose: the embedded model has a
2048-token context, so earlier agents' outputs are passed through :func:`clip`.
"""

from __future__ import annotations

SYSTEM = ("You are an expert radio-network engineer who builds network digital twins in "
          "Python (numpy, pandas). Be precise about units (dBm, dB, mW, W, kWh).")

PITFALLS = """\
Known pitfalls to check (Hermes code refiner):
1. units and scales: add powers only in linear mW, never in dBm; dB <-> linear with 10*log10;
   W = 10**((dBm - 30)/10); kWh = W * hours / 1000.
2. column order: select rsrp_dbm.csv columns by name cell_0..cell_N in cell_id order and sort
   rows by ue_id; do not include the ue_id column in the RSRP matrix.
3. files loaded before use: read network.toml, policy.toml (tomllib, binary mode) and the CSVs
   (pandas) at the start; use only keys that exist.
4. write result.json with json.dump of plain Python floats/lists, no NaN."""

BLUEPRINT_FORMAT = """\
Blueprint format (TOML), one [[step]] table per step:
[[step]]
name = "associate"
inputs = ["rsrp_dbm"]
outputs = ["serving"]
logic = "serving cell = argmax of RSRP over cells"
block = "associate_strongest"   # optional, only a listed expert block"""

PERSPECTIVES = ("Think about the physics: which radio quantities change and how.",
                "Think about the data: which files and columns are needed, and the units.",
                "Think about the steps of the computation from inputs to result.json.")


def clip(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters (marked) — keeps prompts inside the context."""
    text = (text or "").strip()
    return text if len(text) <= max_chars else text[:max_chars] + "\n[...cut]"


def _task(statement: str, blocks_doc: str) -> str:
    return f"TASK\n{statement}\n\n{blocks_doc}"


def cot(statement: str, blocks_doc: str) -> tuple[str, str]:
    """Chain-of-thought baseline: one prompt, reasoning then the whole program."""
    return SYSTEM, (_task(statement, blocks_doc) + "\n\nThink step by step (briefly), then give "
                    "the complete Python program in one ```python block.")


def cot_plan(statement: str, blocks_doc: str) -> tuple[str, str]:
    """Hermes-coder baseline, first call: a chain-of-thought solution without code."""
    return SYSTEM, (_task(statement, blocks_doc) + "\n\nThink step by step: explain how to "
                    "compute the answer, with the formulas and units. Do not write code.")


def coarse(statement: str, blocks_doc: str, k: int) -> tuple[str, str]:
    """Coarse-grained generator k: high-level reflections, no equations or code."""
    hint = PERSPECTIVES[k % len(PERSPECTIVES)]
    return SYSTEM, (_task(statement, blocks_doc) + f"\n\n{hint} Write 3 to 5 short high-level "
                    "reflections on how to solve the task. No equations, no code.")


def evaluator(statement: str, reflections: str) -> tuple[str, str]:
    """Evaluator: validate reflections, find issues (data, units, missing terms), propose fixes."""
    return SYSTEM, (f"TASK\n{statement}\n\nREFLECTIONS\n{reflections}\n\nCheck these "
                    "reflections. Anticipate problems (missing data, wrong units, missing "
                    "interference or noise terms) and propose fixes. Be brief.")


def fine(statement: str, blocks_doc: str, material: str) -> tuple[str, str]:
    """Fine-grained generator: one detailed strategy with formulas / pseudo-code."""
    return SYSTEM, (_task(statement, blocks_doc) + f"\n\nIDEAS AND REVIEWS\n{material}\n\n"
                    "Combine the good ideas into one detailed strategy: numbered steps with "
                    "formulas (units) or pseudo-code.")


def blueprint_editor(statement: str, blocks_doc: str, strategy: str) -> tuple[str, str]:
    """Blueprint editor: the strategy as a TOML blueprint."""
    return SYSTEM, (_task(statement, blocks_doc) + f"\n\nSTRATEGY\n{strategy}\n\n"
                    f"{BLUEPRINT_FORMAT}\n\nWrite the blueprint for the strategy in one "
                    "```toml block.")


def blueprint_refiner(statement: str, blueprint: str, feedback: str = "") -> tuple[str, str]:
    """Blueprint refiner: missing terms, equations, units and scales (plus feedback, if any)."""
    extra = f"\n\nFEEDBACK FROM RUNNING THE CODE\n{feedback}" if feedback else ""
    return SYSTEM, (f"TASK\n{statement}\n\nBLUEPRINT\n{blueprint}{extra}\n\nFind and fix "
                    "missing terms, wrong equations, wrong units or scales. Return the "
                    f"corrected blueprint in one ```toml block.\n{BLUEPRINT_FORMAT}")


def blueprint_repair(blueprint: str, error: str) -> tuple[str, str]:
    """Repair of a blueprint that failed validation."""
    return SYSTEM, (f"This blueprint is invalid: {error}\n\n{blueprint}\n\n{BLUEPRINT_FORMAT}"
                    "\n\nReturn a valid blueprint in one ```toml block.")


def code_generator(statement: str, blocks_doc: str, design: str) -> tuple[str, str]:
    """Code generator: the program implementing a blueprint or a CoT solution."""
    return SYSTEM, (_task(statement, blocks_doc) + f"\n\nPLAN\n{design}\n\nImplement the "
                    "plan as one complete Python program in one ```python block.")


def code_refiner(statement: str, code: str) -> tuple[str, str]:
    """Code refiner: check the program against the known pitfalls."""
    return SYSTEM, (f"TASK\n{statement}\n\nPROGRAM\n```python\n{code}\n```\n\n{PITFALLS}\n\n"
                    "Fix every pitfall you find. Return the complete corrected program in one "
                    "```python block.")


def debugger(code: str, error: str) -> tuple[str, str]:
    """Debugger: the program and the interpreter's traceback."""
    return SYSTEM, (f"PROGRAM\n```python\n{code}\n```\n\nRUNNING IT FAILED\n{error}\n\nFix the "
                    "program. Return the complete corrected program in one ```python block.")
