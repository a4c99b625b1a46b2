"""Recording what a driver gives a sans-IO state machine: swap in a subclass that notes it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar

_T = TypeVar("_T")


@contextlib.contextmanager
def instances_of(module: Any, name: str, recorder: type[_T]) -> Iterator[list[_T]]:
    """While open, ``module.name`` builds ``recorder`` instances (a subclass of what it built
    before), each appended to the yielded list; the original comes back after."""
    made: list[_T] = []

    def factory(*args: Any, **kwargs: Any) -> _T:
        made.append(recorder(*args, **kwargs))
        return made[-1]

    original = getattr(module, name)
    setattr(module, name, factory)
    try:
        yield made
    finally:
        setattr(module, name, original)
