"""Run generated code in a separate, limited process; read its answer from a JSON file.

Design §10: code produced by an LLM never runs in simran's process. :func:`run_code` writes the
code as ``main.py`` and the task's input files into a fresh temporary directory and starts
``python -I agents/twin/_sandbox_child.py <dir>`` there:

* ``-I`` (isolated mode): no ``PYTHON*`` variables, no user site, no script directory on
  ``sys.path``; the child's environment is rebuilt from scratch (no inherited variables);
* resource limits set between fork and exec: ``RLIMIT_CPU`` (CPU seconds; SIGXCPU, then SIGKILL
  one second later), ``RLIMIT_AS`` (address space), ``RLIMIT_FSIZE`` (largest file written,
  stdout/stderr included), ``RLIMIT_NOFILE``, ``RLIMIT_CORE`` = 0 and ``RLIMIT_NPROC`` = 0 (no
  new process or thread — numpy is told to use one thread). Soft = hard, so the code cannot
  raise them. As root ``RLIMIT_NPROC`` is not enforced by Linux; the audit hook still refuses
  ``os.fork`` and every spawn;
* a wall-clock timeout, after which the whole process group (its own session) is killed;
* the audit hook and import guard of :mod:`agents.twin._sandbox_child` (no sockets, no
  subprocesses, reads only in the sandbox dir and the Python installation, writes only in the
  sandbox dir, ``simran``/``agents`` only through the selected expert blocks);
* the answer is ``result.json`` in the sandbox dir, parsed here with NaN/Infinity rejected.

An audit hook is not a security boundary against a determined attacker (CPython documents that);
with the rlimits, the fresh session and the kill-on-timeout it is a fence against the mistakes
and the accidents of generated code, which is what this harness needs. A container or seccomp
filter would be the next step for untrusted users.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHILD = Path(__file__).with_name("_sandbox_child.py")
MAX_RESULT_BYTES = 8 * 2**20
TAIL_CHARS = 4000


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run.

    Attributes
    ----------
    wall_s : float
        Wall-clock timeout [s].
    cpu_s : int
        CPU time limit [s] (RLIMIT_CPU).
    memory_mb : int
        Address-space limit [MiB] (RLIMIT_AS).
    file_mb : int
        Largest file the child may write [MiB] (RLIMIT_FSIZE).
    """

    wall_s: float = 60.0
    cpu_s: int = 30
    memory_mb: int = 2048
    file_mb: int = 32


@dataclass
class SandboxResult:
    """What one sandboxed run produced.

    Attributes
    ----------
    status : str
        ``ok``, ``syntax_error``, ``exception``, ``blocked``, ``timeout``, ``cpu_limit``,
        ``memory_limit``, ``output_limit``, ``no_result`` or ``bad_result``.
    reason : str
        One line saying why (empty when ``ok``).
    result : object or None
        The parsed ``result.json`` (``ok`` only).
    stdout, stderr : str
        Tails of the child's output (at most 4000 characters each).
    wall_s : float
        Wall-clock time of the run [s].
    returncode : int or None
        Child exit code (negative: killed by that signal).
    blocked : list of str
        Every ``SANDBOX-BLOCKED`` line the child wrote.
    """

    status: str
    reason: str
    result: object = None
    stdout: str = ""
    stderr: str = ""
    wall_s: float = 0.0
    returncode: int | None = None
    blocked: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """``True`` when the code ran to the end and wrote a parseable result."""
        return self.status == "ok"

    def to_dict(self) -> dict:
        """JSON-serialisable form (the result itself omitted)."""
        return {"status": self.status, "reason": self.reason, "wall_s": round(self.wall_s, 3),
                "returncode": self.returncode, "blocked": self.blocked,
                "stdout_tail": self.stdout[-800:], "stderr_tail": self.stderr[-1500:]}


def _preexec(limits: Limits):
    def setup() -> None:
        def hard(res, value):
            resource.setrlimit(res, (value, value))

        # soft limit → SIGXCPU (classified as cpu_limit); the hard limit a second later → SIGKILL
        # only if the code ignores SIGXCPU. With soft == hard the kernel may send SIGKILL first.
        cpu = max(int(limits.cpu_s), 1)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        hard(resource.RLIMIT_AS, int(limits.memory_mb) * 2**20)
        hard(resource.RLIMIT_FSIZE, int(limits.file_mb) * 2**20)
        hard(resource.RLIMIT_NOFILE, 64)
        hard(resource.RLIMIT_CORE, 0)
        try:
            hard(resource.RLIMIT_NPROC, 0)
        except (ValueError, OSError):
            pass
    return setup


def _child_env(sandbox: Path) -> dict:
    return {"PATH": "/usr/bin:/bin", "HOME": str(sandbox), "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "NUMEXPR_MAX_THREADS": "1", "TMPDIR": str(sandbox), "MPLBACKEND": "Agg"}


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 4 * TAIL_CHARS))
            return f.read().decode("utf-8", "replace")[-TAIL_CHARS:]
    except OSError:
        return ""


def _last_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else "no error output"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a valid result number")


def _read_result(path: Path) -> tuple[str, str, object]:
    if not path.is_file():
        return "no_result", "the code finished without writing result.json", None
    if path.stat().st_size > MAX_RESULT_BYTES:
        return "bad_result", f"result.json is larger than {MAX_RESULT_BYTES} bytes", None
    try:
        text = path.read_text(encoding="utf-8")
        return "ok", "", json.loads(text, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        return "bad_result", f"result.json is not valid JSON: {exc}"[:300], None


def _classify(rc, timed_out, cpu_used_s, limits, stderr) -> tuple[str, str]:
    blocked = [ln for ln in stderr.splitlines() if ln.startswith("SANDBOX-BLOCKED:")]
    if timed_out:
        return "timeout", f"wall-clock limit of {limits.wall_s:g} s exceeded; process group killed"
    if rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and cpu_used_s >= limits.cpu_s - 0.05):
        return "cpu_limit", f"CPU time limit of {limits.cpu_s} s exceeded (RLIMIT_CPU)"
    if rc == -signal.SIGXFSZ:
        return "output_limit", f"wrote a file larger than {limits.file_mb} MiB (RLIMIT_FSIZE)"
    if "SANDBOX-LIMIT: memory" in stderr:
        return "memory_limit", f"memory limit of {limits.memory_mb} MiB exceeded (RLIMIT_AS)"
    if blocked:
        return "blocked", blocked[0].replace("SANDBOX-BLOCKED:", "refused:").strip()[:300]
    if rc == 3 and "SANDBOX-SYNTAX:" in stderr:
        line = next(ln for ln in stderr.splitlines() if ln.startswith("SANDBOX-SYNTAX:"))
        return "syntax_error", line.replace("SANDBOX-SYNTAX:", "").strip()[:300]
    if rc is not None and rc < 0:
        return "exception", f"killed by signal {signal.Signals(-rc).name}"
    if rc != 0:
        return "exception", _last_error_line(stderr)
    return "ok", ""


def run_code(code: str, files: dict, *, blocks=(), limits: Limits | None = None,
             keep_dir: str | Path | None = None) -> SandboxResult:
    """Run ``code`` as ``main.py`` in a fresh sandbox with ``files`` as its inputs.

    Parameters
    ----------
    code : str
        Python source (the generated program).
    files : dict of str to bytes or str
        Input files, by name (no directories), written into the sandbox dir.
    blocks : sequence of str
        Expert blocks published as the module ``blocks`` (:mod:`agents.twin.blocks`).
    limits : Limits, optional
        Default :class:`Limits` ().
    keep_dir : path, optional
        Copy of the sandbox dir is kept here (for debugging); default: deleted.

    Returns
    -------
    SandboxResult
        Never raises for anything the code does.
    """
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="twin-sandbox-") as tmp, \
            tempfile.TemporaryDirectory(prefix="twin-io-") as io_dir:
        box = Path(tmp)
        for name, content in files.items():
            if "/" in name or name.startswith("."):
                raise ValueError(f"input file name {name!r} must be a plain file name")
            data = content.encode() if isinstance(content, str) else bytes(content)
            (box / name).write_bytes(data)
        (box / "main.py").write_text(code, encoding="utf-8")
        out_path, err_path = Path(io_dir) / "stdout", Path(io_dir) / "stderr"
        config = json.dumps({"blocks": list(blocks)})
        t0 = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", str(CHILD), str(box), config], cwd=box,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=_child_env(box),
                start_new_session=True, preexec_fn=_preexec(limits), close_fds=True)
            timed_out = False
            try:
                rc = proc.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            rc = proc.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter() - t0
        cpu_used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        stdout, stderr = _tail(out_path), _tail(err_path)
        status, reason = _classify(rc, timed_out, cpu_used, limits, stderr)
        result = None
        if status == "ok":
            status, reason, result = _read_result(box / "result.json")
        if keep_dir is not None:
            import shutil

            shutil.copytree(box, Path(keep_dir), dirs_exist_ok=True)
    blocked = [ln for ln in stderr.splitlines() if ln.startswith("SANDBOX-BLOCKED:")]
    return SandboxResult(status=status, reason=reason, result=result, stdout=stdout,
                         stderr=stderr, wall_s=wall, returncode=rc, blocked=blocked)
