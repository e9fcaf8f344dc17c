"""Scenario files: reading TOML, ``--set`` overrides, ``base =`` inheritance and
:func:`load_scenario`."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from simran.errors import ScenarioError
from simran.scenario.model import Scenario

# --------------------------------------------------------------------------------------------
# loading and overrides


def read_toml(path: str | Path) -> dict:
    """Read a TOML file; errors name the file (and line for syntax errors)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(str(path), [("", "file not found")]) from None
    except (PermissionError, IsADirectoryError) as exc:
        raise ScenarioError(str(path), [("", f"cannot read file: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), [("", f"TOML syntax error: {exc}")]) from None
    except UnicodeDecodeError:
        raise ScenarioError(str(path), [("", "not a UTF-8 text file")]) from None
    except OSError as exc:
        raise ScenarioError(str(path), [("", f"cannot read file: {exc.strerror or exc}")]
                            ) from None
    except RecursionError:
        raise ScenarioError(str(path), [("", "TOML nesting too deep")]) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``path.to.field=value``; the value is read as a TOML value, else as a string."""
    if "=" not in text:
        raise ScenarioError("--set", [(text, "expected path.to.field=value")])
    path, raw = text.split("=", 1)
    path = path.strip()
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path, value


def apply_overrides(data: dict, overrides: dict[str, Any] | list[str] | tuple = (),
                    source: str = "--set") -> dict:
    """Return a deep copy of ``data`` with dotted-path overrides applied.

    Paths use field names and list indices, e.g. ``slices.0.quota_pct``. A missing intermediate
    table is created; a list index past the end is an error naming the path. Whether the leaf
    field exists is checked by validation (``extra="forbid"``).
    """
    if isinstance(overrides, (list, tuple)):
        overrides = dict(parse_override(o) for o in overrides)
    out = copy.deepcopy(data)
    for path, value in overrides.items():
        keys = path.split(".")
        node: Any = out
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            where = ".".join(keys[: i + 1])
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ScenarioError(source, [(path, f"{where}: no list element {key!r} "
                                                  f"(list has {len(node)})")])
                key = int(key)
                if last:
                    node[key] = value
                else:
                    node = node[key]
            elif isinstance(node, dict):
                if last:
                    node[key] = value
                else:
                    node = node.setdefault(key, {})
            else:
                raise ScenarioError(source, [(path, f"{'.'.join(keys[:i])} is a value, not a "
                                              "table")])
    return out


# --------------------------------------------------------------------------------------------
# inheritance: ``base = "other.toml"``

#: deepest ``base =`` chain followed before giving up (a cycle is reported separately).
MAX_BASE_DEPTH = 16


def merge_scenario_data(base: dict, child: dict) -> dict:
    """Merge a child scenario's data over its base (the ``base =`` rules).

    Rules, applied recursively:

    * **tables** merge key by key; a child's value replaces the base's (a sub-table merges);
    * **lists of named tables** (every item has a ``name``: ``[[slices]]``, ``[[ue_groups]]``,
      ``[[agents]]``, ``[[events]]`` with names …) merge by ``name``: an item whose name is
      in the base merges into that item in place (order kept), a new name is appended; an item
      with ``remove = true`` deletes the base item of that name;
    * **any other list** (and any value) is replaced as a whole by the child's.

    Parameters
    ----------
    base, child : dict
        Parsed TOML data; neither is modified.

    Returns
    -------
    dict
        A new merged dict.
    """
    out = copy.deepcopy(base)
    for key, value in child.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge_scenario_data(old, value)
        elif _named_list(old) and _named_list(value):
            out[key] = _merge_named(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _named_list(v: Any) -> bool:
    return (isinstance(v, list) and bool(v)
            and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in v))


def _merge_named(base: list, child: list) -> list:
    out = [copy.deepcopy(i) for i in base]
    index = {item["name"]: i for i, item in enumerate(out)}
    for item in child:
        name = item["name"]
        if item.get("remove") is True:
            out = [i for i in out if i["name"] != name]
            index = {it["name"]: i for i, it in enumerate(out)}
        elif name in index:
            out[index[name]] = merge_scenario_data(out[index[name]], item)
        else:
            index[name] = len(out)
            out.append(copy.deepcopy(item))
    return out


def read_scenario_data(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read a scenario file and resolve its ``base =`` chain into one dict.

    ``base`` is a path relative to the file that names it; the base may itself have a base.
    Relative paths *inside* the scenarios (trace files, agent files) resolve against the folder
    of the file that is loaded, as for any scenario. See :func:`merge_scenario_data` for the
    merge rules.

    Raises
    ------
    ScenarioError
        Naming the file and ``base`` for a missing base, a cycle or a non-string value.
    """
    path = Path(path)
    data = read_toml(path)
    if "base" not in data:
        return data
    base = data.pop("base")
    if not isinstance(base, str) or not base.strip():
        raise ScenarioError(str(path), [("base", "expected a file name (a string), got "
                                         f"{base!r}")])
    base_path = (path.parent / base).resolve()
    chain = (*_chain, path.resolve())
    if base_path in chain:
        loop = " -> ".join(str(p.name) for p in (*chain, base_path))
        raise ScenarioError(str(path), [("base", f"inheritance cycle: {loop}")])
    if len(chain) >= MAX_BASE_DEPTH:
        raise ScenarioError(str(path), [("base", f"more than {MAX_BASE_DEPTH} levels of base")])
    if not base_path.is_file():
        raise ScenarioError(str(path), [("base", f"base scenario {base!r} not found "
                                         f"(looked for {base_path})")])
    return merge_scenario_data(read_scenario_data(base_path, chain), data)


def scenario_origins(path: str | Path, overrides: dict[str, Any] | list[str] | tuple = ()
                     ) -> dict[str, str]:
    """Where each value given in a scenario's files comes from.

    Returns
    -------
    dict
        Dotted path (``slices.0.quota_pct``, as in ``--set``) → the file that set it last, or
        ``"--set"``. Values not listed are schema defaults.
    """
    path = Path(path)
    chain = [path]
    while "base" in (raw := read_toml(chain[-1])) and isinstance(raw["base"], str):
        if len(chain) > MAX_BASE_DEPTH:
            break
        chain.append((chain[-1].parent / raw["base"]).resolve())
    final = read_scenario_data(path)
    origins: dict[str, str] = {}
    for f in reversed(chain):
        layer = read_toml(f)
        layer.pop("base", None)
        _flatten(layer, final, "", origins, str(f))
    if isinstance(overrides, (list, tuple)):
        overrides = dict(parse_override(o) for o in overrides)
    for k in overrides:
        origins[k] = "--set"
    return origins


def _flatten(layer: Any, final: Any, prefix: str, origins: dict, f: str) -> None:
    """Record ``f`` for every leaf of ``layer``; named items are indexed as in ``final``."""
    if isinstance(layer, dict):
        for k, v in layer.items():
            sub = final.get(k) if isinstance(final, dict) else None
            _flatten(v, sub, f"{prefix}.{k}" if prefix else k, origins, f)
    elif _named_list(layer) and isinstance(final, list):
        names = [i.get("name") if isinstance(i, dict) else None for i in final]
        for item in layer:
            if item["name"] in names:
                i = names.index(item["name"])
                _flatten(item, final[i], f"{prefix}.{i}", origins, f)
    else:
        origins[prefix] = f


def load_scenario(path: str | Path, overrides: dict[str, Any] | list[str] | tuple = ()
                  ) -> Scenario:
    """Load, override and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        TOML scenario file.
    overrides : dict or list of "path=value"
        ``--set`` overrides, applied before validation.

    Raises
    ------
    ScenarioError
        Naming the file, every bad field path and the reason.
    """
    path = Path(path)
    data = read_scenario_data(path)
    if not data:
        raise ScenarioError(str(path), [("", "empty scenario file (no tables or fields); a "
                                         "scenario needs at least a [simulation] or "
                                         "[[ue_groups]] table — see scenarios/quickstart.toml")])
    data = apply_overrides(data, overrides, source=f"{path} (--set)")
    return Scenario.from_dict(data, source=str(path), base_dir=path.resolve().parent)

