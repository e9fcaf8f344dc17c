"""Child side of the sandbox: run by ``python -I`` in its own directory, never imported.

``python -I _sandbox_child.py <sandbox dir> <config json>``. Before the generated code runs:

1. the working directory becomes the sandbox directory;
2. numpy and pandas are imported and, when the run has expert blocks, ``agents.twin.blocks``;
   the selected blocks are published as the module ``blocks``;
3. ``simran`` and ``agents`` are dropped from ``sys.modules`` and a meta-path finder refuses to
   import them again, so the code reaches simran only through the blocks;
4. an audit hook (PEP 578) refuses sockets, subprocesses, fork/exec/spawn, signals to other
   processes, ctypes, ``open`` outside the read roots (sandbox dir, stdlib, site-packages), any
   write or file-system change outside the sandbox dir, and ``chdir``. Each refusal raises
   ``PermissionError`` and writes ``SANDBOX-BLOCKED: <event> <detail>`` to fd 2 first, so the
   parent records it even if the code catches the exception.

Exit codes: 0 finished, 2 the code raised (traceback on stderr), 3 the code does not compile.
A ``MemoryError`` also writes ``SANDBOX-LIMIT: memory``.
"""

import builtins
import json
import os
import sys
import traceback
import types

MARK_BLOCKED = "SANDBOX-BLOCKED:"
MARK_LIMIT = "SANDBOX-LIMIT:"
MARK_SYNTAX = "SANDBOX-SYNTAX:"

REFUSED_EVENTS = (
    "socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "os.setuid", "os.setgid", "ctypes.", "resource.setrlimit",
    "pty.", "webbrowser.", "shutil.chown",
)
PATH_WRITE_EVENTS = {
    "os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.rename": 2, "os.replace": 2,
    "os.symlink": 2, "os.link": 2, "os.chmod": 1, "os.chown": 1, "os.truncate": 1,
    "os.utime": 1, "shutil.rmtree": 1, "shutil.copyfile": 2, "shutil.move": 2,
    "shutil.make_archive": 1, "shutil.unpack_archive": 2,
}
PATH_READ_EVENTS = ("os.listdir", "os.scandir", "glob.glob", "os.walk")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _emit(line: str) -> None:
    try:
        os.write(2, (line.replace("\n", " ")[:500] + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def _under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _install_hook(sandbox: str, read_roots: list) -> None:
    state = {"busy": False}
    special_read = ("/dev/null", "/dev/urandom", "/dev/random")

    def resolve(p):
        if isinstance(p, int):
            return None
        if isinstance(p, bytes):
            p = p.decode("utf-8", "replace")
        return os.path.realpath(os.fspath(p))

    def refuse(event: str, detail: str):
        _emit(f"{MARK_BLOCKED} {event} {detail}")
        raise PermissionError(f"sandbox: {event} refused ({detail})")

    def check_open(args):
        path = resolve(args[0])
        if path is None:
            return
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) and args[2] > 0 else 0
        write = any(c in mode for c in "wax+") or bool(flags & WRITE_FLAGS)
        if write:
            if not _under(path, [sandbox]):
                refuse("open", f"write outside the sandbox: {path}")
        elif not (_under(path, read_roots) or path in special_read):
            refuse("open", f"read outside the task inputs: {path}")

    def hook(event, args):
        if state["busy"]:
            return
        state["busy"] = True
        try:
            if event == "open":
                check_open(args)
            elif event.startswith(REFUSED_EVENTS) and not event.startswith("ctypes.seh"):
                refuse(event, repr(args)[:160])
            elif event in PATH_WRITE_EVENTS:
                for p in args[:PATH_WRITE_EVENTS[event]]:
                    path = resolve(p)
                    if path is not None and not _under(path, [sandbox]):
                        refuse(event, f"outside the sandbox: {path}")
            elif event in PATH_READ_EVENTS:
                path = resolve(args[0]) if args and args[0] not in (None, "") else sandbox
                if path is not None and not _under(path, read_roots):
                    refuse(event, f"outside the task inputs: {path}")
            elif event == "os.chdir":
                path = resolve(args[0])
                if path is not None and not _under(path, [sandbox]):
                    refuse(event, f"outside the sandbox: {path}")
        finally:
            state["busy"] = False

    sys.addaudithook(hook)


class _RefuseFinder:
    """Meta-path finder refusing ``simran`` and ``agents``: simran only through the blocks."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        top = name.split(".")[0]
        if top in ("simran", "agents"):
            raise ImportError(f"sandbox: '{name}' cannot be imported here; use the expert blocks "
                              "(from blocks import ...)")
        return None


def _publish_blocks(names: list) -> None:
    mod = types.ModuleType("blocks", "The expert blocks selected for this run.")
    if names:
        import agents.twin.blocks as expert

        for n in names:
            setattr(mod, n, getattr(expert, n))
    mod.__all__ = list(names)
    for key in [k for k in sys.modules if k.split(".")[0] in ("simran", "agents")]:
        del sys.modules[key]
    sys.modules["blocks"] = mod
    sys.meta_path.insert(0, _RefuseFinder())


def main() -> int:
    sandbox = os.path.realpath(sys.argv[1])
    config = json.loads(sys.argv[2])
    os.chdir(sandbox)
    # pre-imported before the hook: the code almost always needs them, and their imports read
    # system files (cgroup CPU quota, time zones) that the code itself may not
    import numpy  # noqa: F401
    import pandas  # noqa: F401

    # stdlib and site-packages (what `python -I` puts on sys.path); never the repository root
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    read_roots = [sandbox] + [os.path.realpath(p) for p in sys.path
                              if p and os.path.exists(p) and os.path.realpath(p) != repo]
    # sources shown in tracebacks (this file, the blocks and the simran models they wrap), the
    # time-zone database, and the CPU-count files pandas reads (read_csv sizes a worker pool)
    here = os.path.dirname(os.path.realpath(__file__))
    read_roots += [os.path.realpath(__file__), os.path.join(here, "blocks.py"),
                   os.path.join(repo, "simran"), "/usr/share/zoneinfo", "/sys/fs/cgroup",
                   "/sys/devices/system/cpu", "/proc/cpuinfo"]
    _publish_blocks(config.get("blocks", []))
    sys.path.insert(0, sandbox)
    _install_hook(sandbox, read_roots)
    try:
        with open("main.py", encoding="utf-8") as f:
            source = f.read()
        code = compile(source, "main.py", "exec")
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        _emit(f"{MARK_SYNTAX} {type(exc).__name__}: {exc}")
        return 3
    env = {"__name__": "__main__", "__file__": "main.py", "__builtins__": builtins}
    try:
        exec(code, env)  # noqa: S102 — this *is* the sandboxed child process
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except MemoryError:
        _emit(f"{MARK_LIMIT} memory")
        traceback.print_exc()
        return 2
    except BaseException:  # noqa: BLE001 — report whatever the generated code raised
        traceback.print_exc()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
