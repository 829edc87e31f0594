"""Finding, loading and validating protocol files.

Every problem is reported with the file, the phase and the field it concerns, so that whoever
wrote the file can mend it without reading Python.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.protocol.model import Protocol

BLOCKS = ("opening", "round", "closing")
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"


class ProtocolError(Exception):
    """A protocol could not be found or did not validate; str() is a one-line summary."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def shipped_dir() -> Path:
    return Path(str(resources.files("protocols")))


def shipped_names() -> list[str]:
    return sorted(p.stem for p in shipped_dir().glob("*.yaml"))


def name_from_path(path: Path) -> str:
    """A protocol's name is its file's stem in kebab case."""
    return path.stem.strip().lower().replace("_", "-").replace(" ", "-")


def load_shipped(name: str) -> Protocol:
    path = shipped_dir() / f"{name}.yaml"
    if not _NAME.match(name) or not path.is_file():
        known = ", ".join(shipped_names())
        raise ProtocolError(
            [Problem(name, "name", f"no protocol is called {name!r}; known protocols: {known}")]
        )
    return load_file(path)


def load_named(name: str, own_dir: Path | None = None) -> Protocol:
    """A protocol by name: the group's own files in `own_dir` first, then the shipped ones."""
    if own_dir is not None and _NAME.match(name):
        path = own_dir / f"{name}.yaml"
        if path.is_file():
            return load_file(path)
    return load_shipped(name)


def load_setting(setting: str, own_dir: Path | None = None) -> Protocol:
    """A set's protocol setting: a protocol's name, or the path of a protocol file."""
    if setting.endswith((".yaml", ".yml")):
        return load_file(Path(setting))
    return load_named(setting, own_dir)


def load_file(path: Path) -> Protocol:
    """A protocol file, read once for each version of the file: every meeting that opens reads
    its set's protocol, and parsing YAML is the slow part."""
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None:
        return _load(path)
    return _load_version(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _load_version(path: Path, mtime_ns: int, size: int) -> Protocol:
    return _load(path)


def _load(path: Path) -> Protocol:
    problems, protocol = check_file(path)
    if protocol is None:
        raise ProtocolError(problems)
    return protocol


def check_file(path: Path) -> tuple[list[Problem], Protocol | None]:
    """Validate one file; return every problem found, and the protocol when there were none."""
    label = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [Problem(label, "file", "no such file")], None
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(label, "file", f"cannot be read: {exc}")], None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        return [Problem(label, where, f"is not valid YAML: {getattr(exc, 'problem', exc)}")], None
    if not isinstance(raw, dict):
        return [Problem(label, "file", "must be a mapping of fields (title, round, ...)")], None
    data = dict(raw)
    data.setdefault("name", name_from_path(path))
    missing = _attach_contracts(data)
    if missing:
        return [Problem(label, where, msg) for where, msg in missing], None
    try:
        return [], Protocol.model_validate(data)
    except ValidationError as exc:
        return [Problem(label, _where(data, _loc(err)), err["msg"]) for err in exc.errors()], None


def _attach_contracts(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Fill `contracts` with the shipped ground rules a phase names but the file does not define."""
    contracts = dict(data.get("contracts") or {})
    missing: list[tuple[str, str]] = []
    for block in BLOCKS:
        phases = data.get(block)
        if not isinstance(phases, list):
            continue
        for index, phase in enumerate(phases):
            name = phase.get("contract") if isinstance(phase, dict) else None
            if not isinstance(name, str) or name in contracts:
                continue
            path = shipped_dir() / "contracts" / f"{name}.yaml"
            if not path.is_file():
                missing.append(
                    (
                        _phase_label(data, block, index) + ", field contract",
                        f"no ground rules called {name!r} in the file or shipped with Peerset",
                    )
                )
                continue
            rules = yaml.safe_load(path.read_text(encoding="utf-8"))
            contracts[name] = tuple(rules["rules"])
    if contracts:
        data["contracts"] = contracts
    return missing


def _phase_label(data: dict[str, Any], block: str, index: int) -> str:
    phases = data.get(block)
    phase_id = None
    if isinstance(phases, list) and index < len(phases) and isinstance(phases[index], dict):
        phase_id = phases[index].get("id")
    named = f" ({phase_id})" if isinstance(phase_id, str) else ""
    return f"{block} phase {index + 1}{named}"


def _loc(err: ErrorDetails) -> tuple[int | str, ...]:
    """Where an error is, including the part a model validator names below its own model."""
    below = (err.get("ctx") or {}).get("loc", ())
    return tuple(err["loc"]) + tuple(below)


def _where(data: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    if len(loc) >= 2 and loc[0] in BLOCKS and isinstance(loc[1], int):
        label = _phase_label(data, str(loc[0]), loc[1])
        rest = ".".join(str(part) for part in loc[2:])
        return f"{label}, field {rest}" if rest else label
    if not loc:
        return "file"
    return "field " + ".".join(str(part) for part in loc)
