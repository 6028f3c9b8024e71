"""The faults the native engine can inject on request, to test the comparison itself.

``lockstep.load(path, inject_fault=NAME)``, ``NativeModel(path, inject_fault=NAME)`` and
``lockstep crossval --inject-fault NAME`` take one of these names; ``--list-faults`` prints them.
The catalogue lives in C++ (src/model/faults.h), next to the code that makes the mistakes.
"""

from __future__ import annotations

from lockstep import _core


def list_faults() -> list[tuple[str, str]]:
    """(name, one-line description) of every injectable fault."""
    return [(str(name), str(description)) for name, description in _core.fault_catalogue()]


def fault_names() -> list[str]:
    return [name for name, _ in list_faults()]


def check_fault(name: str | None) -> str:
    """`name` if it is a known fault ("" for None); ValueError naming the known ones otherwise."""
    if not name:
        return ""
    known = fault_names()
    if name not in known:
        raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(known)}")
    return name


__all__ = ["check_fault", "fault_names", "list_faults"]
