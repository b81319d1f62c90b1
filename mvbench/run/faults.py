"""A test hook that kills this process at a named point, to prove the record survives it.

``MVBENCH_FAULT=POINT:SIGNAL:N`` (e.g. ``before_marker:KILL:2``) sends ``SIGNAL`` to this process the
``N``-th time it reaches :func:`fault_point` ``POINT``. Unset, it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_reached: dict[str, int] = {}


def fault_point(point: str) -> None:
    spec = os.environ.get("MVBENCH_FAULT")
    if not spec:
        return
    name, _, rest = spec.partition(":")
    sig, _, count = rest.partition(":")
    if name != point:
        return
    _reached[point] = _reached.get(point, 0) + 1
    if _reached[point] == int(count or 1):
        signal.raise_signal(getattr(signal, f"SIG{sig or 'KILL'}"))  # in this thread, so it lands here
