"""Replay backend: answer from a recorded transcript, so an LLM run re-executes without the model.

The transcript maps a prompt hash (:func:`agents.llm.base.prompt_hash`) to the replies recorded
for it, in order: a prompt asked three times in the original run gets its three recorded replies
back in the same order. Each recorded reply keeps its token counts and wall time, so ``measured``
and ``tokens`` latency models charge exactly what the original run charged and the re-execution
is bit-for-bit. A prompt that was never recorded (or whose recorded replies are used up) raises
:class:`BackendUnavailable` — a replay never invents an answer.

Results files store the decision log as an HDF5 group ``decisions`` with one 1-D dataset per
column; :meth:`ReplayBackend.from_hdf5` reads the columns ``prompt_hash``, ``raw_text``,
``backend``, ``model``, ``prompt_tokens``, ``completion_tokens`` and ``wall_s`` (strings as
variable-length UTF-8). Rows with an empty ``prompt_hash`` (decisions that asked no LLM) are
skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.llm.base import BackendUnavailable, ChatReply, prompt_hash
from agents.llm.parsing import parse_json_reply
from simran.errors import SimranError

COLUMNS = ("prompt_hash", "raw_text", "backend", "model", "prompt_tokens", "completion_tokens",
           "wall_s")


class TranscriptError(SimranError, ValueError):
    """A transcript (records or results file) is malformed; names source, row and field."""


@dataclass(frozen=True)
class RecordedReply:
    """One recorded reply and the figures the original run charged for it."""

    raw_text: str
    backend: str = "unknown"
    model: str = "unknown"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class ReplayBackend:
    """Answer each prompt with the next reply recorded for its hash.

    Parameters
    ----------
    source : mapping
        ``prompt_hash -> sequence`` of raw reply texts or :class:`RecordedReply`.
    label : str
        Where the transcript came from (shown by :meth:`describe`).
    """

    name = "replay"

    def __init__(self, source: Mapping[str, Sequence[str | RecordedReply]], *,
                 label: str = "<transcript>"):
        self._queues: dict[str, list[RecordedReply]] = {
            key: [r if isinstance(r, RecordedReply) else RecordedReply(raw_text=str(r))
                  for r in replies]
            for key, replies in source.items()}
        self._used: dict[str, int] = {key: 0 for key in self._queues}
        self._lock = threading.Lock()
        self.label = label
        models = sorted({r.model for q in self._queues.values() for r in q})
        self.model = models[0] if len(models) == 1 else "+".join(models) or "none"

    @classmethod
    def from_records(cls, records: Iterable[Mapping], *, label: str = "<records>"
                     ) -> ReplayBackend:
        """Build from dict records with the :data:`COLUMNS` keys, in decision order."""
        source: dict[str, list[RecordedReply]] = {}
        for row, rec in enumerate(records):
            missing = [c for c in COLUMNS if c not in rec]
            if missing:
                raise TranscriptError(f"{label}: record {row}: missing field(s) {missing}")
            key = _text(rec["prompt_hash"])
            if not key:
                continue
            try:
                reply = RecordedReply(
                    raw_text=_text(rec["raw_text"]), backend=_text(rec["backend"]),
                    model=_text(rec["model"]), prompt_tokens=int(rec["prompt_tokens"]),
                    completion_tokens=int(rec["completion_tokens"]), wall_s=float(rec["wall_s"]))
            except (TypeError, ValueError) as exc:
                raise TranscriptError(f"{label}: record {row}: {exc}") from exc
            source.setdefault(key, []).append(reply)
        return cls(source, label=label)

    @classmethod
    def from_hdf5(cls, path: str | Path) -> ReplayBackend:
        """Build from the ``decisions`` group of a results HDF5 file."""
        import h5py

        path = Path(path)
        try:
            with h5py.File(path, "r") as f:
                if "decisions" not in f:
                    raise TranscriptError(f"{path}: no group 'decisions' (no decision log)")
                group = f["decisions"]
                missing = [c for c in COLUMNS if c not in group]
                if missing:
                    raise TranscriptError(f"{path}: decisions: missing column(s) {missing}")
                columns = {c: group[c][()] for c in COLUMNS}
        except OSError as exc:
            raise TranscriptError(f"{path}: cannot read results file: {exc}") from exc
        lengths = {c: len(v) for c, v in columns.items()}
        if len(set(lengths.values())) > 1:
            raise TranscriptError(f"{path}: decisions: columns differ in length {lengths}")
        n = next(iter(lengths.values()))
        records = ({c: columns[c][i] for c in COLUMNS} for i in range(n))
        return cls.from_records(records, label=str(path))

    def chat(self, messages: list[dict], schema: dict | None = None, *, max_tokens: int = 128,
             temperature: float = 0.0) -> ChatReply:
        """Return the next recorded reply for this prompt's hash.

        Raises
        ------
        BackendUnavailable
            ``"replay: no recorded reply for prompt <hash>"`` if the hash is unknown or its
            replies are used up.
        """
        key = prompt_hash(messages, schema)
        with self._lock:
            queue = self._queues.get(key, [])
            used = self._used.get(key, 0)
            if used >= len(queue):
                extra = f" (all {len(queue)} recorded replies used)" if queue else ""
                raise BackendUnavailable(f"replay: no recorded reply for prompt {key}{extra}")
            self._used[key] = used + 1
        rec = queue[used]
        parsed, error = parse_json_reply(rec.raw_text, schema)
        return ChatReply(text=rec.raw_text, parsed=parsed, prompt_tokens=rec.prompt_tokens,
                         completion_tokens=rec.completion_tokens, wall_s=rec.wall_s,
                         backend=self.name, model=rec.model, error=error)

    def describe(self) -> str:
        """``replay of <source> (N recorded replies from <backend:model>…)``."""
        recs = [r for q in self._queues.values() for r in q]
        origins = sorted({f"{r.backend}:{r.model}" for r in recs})
        return f"replay of {self.label} ({len(recs)} recorded replies from {', '.join(origins)})"
