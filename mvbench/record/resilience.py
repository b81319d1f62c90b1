"""Riding out a tracking-store outage: every call to the store goes through one :class:`StoreRetry`.

A shared tracking server restarts (an upgrade, a database failover); a long grid must wait for it
instead of dying. Two layers share the work:

* MLflow's own HTTP client retries each request a few times within seconds (urllib3's exponential
  backoff with jitter, honouring ``Retry-After``): :func:`configure_http_client` sets its
  ``MLFLOW_HTTP_REQUEST_*`` defaults (a user's own settings win). That rides out a blip.
* :class:`StoreRetry` adds what MLflow lacks: a budget in seconds for a longer outage (exponential
  backoff with jitter between whole calls, for HTTP and database URIs alike), one line on stderr
  while it waits, and a clean stop when the budget is spent: :class:`TrackingUnavailable` (the CLI
  prints it in one line and exits with status 3), after which every further call fails at once so
  that clean-up code cannot wait out the budget again.

While the store is away the grid's results wait in memory (in the runner and the executor's
finished tasks) and are logged when it returns; a cell is claimed before it is computed
(:mod:`mvbench.record.leases`), so the key and the lease keep every cell logged once.
"""

from __future__ import annotations

import functools
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: Default budget (seconds) for one outage: a server restart or a database failover fits in it.
DEFAULT_RETRY_SECONDS = 300.0
#: Backoff between whole calls: first wait, and the longest wait (before jitter).
FIRST_WAIT, LONGEST_WAIT = 1.0, 30.0

#: Errors that say the store is away for now: refused or dropped connections, timeouts, 5xx and 429
#: replies (after MLflow's own retries), a database that is restarting, locked or deadlocked.
_TRANSIENT = re.compile(
    r"connection refused|connection reset|connection aborted|remote ?disconnected|remote end closed|"
    r"broken pipe|timed out|timeout|too many (5\d\d|429) error responses|temporary failure in name resolution|"
    r"server closed the connection|terminating connection|could not connect|connection to server|"
    r"the database system is (starting up|shutting down|in recovery mode|not yet accepting)|"
    r"database is locked|deadlock|service unavailable|bad gateway|gateway time-?out",
    re.IGNORECASE,
)
#: Errors that look like a connection problem but that waiting does not fix (a wrong host name, a
#: store this user cannot write): refused at once.
_PERMANENT = re.compile(
    r"name or service not known|nodename nor servname|no address associated|readonly database|"
    r"read-only|unable to open database|permission denied",
    re.IGNORECASE,
)
_TRANSIENT_CODES = {"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "DEADLINE_EXCEEDED"}


class TrackingUnavailable(RuntimeError):
    """The tracking store stayed unreachable for the whole retry budget (one line; exit status 3)."""


def configure_http_client() -> None:
    """MLflow's per-request retries (a few, within seconds) and timeout, unless the user set them.

    The budget for a longer outage is :class:`StoreRetry`'s, so a single request never waits long
    before the caller knows the store is away and says so."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "1.0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` from a tracking call means "the store is away for now" (worth waiting for)."""
    text = f"{type(exc).__name__}: {exc}"
    if _PERMANENT.search(text):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    code = getattr(exc, "error_code", None)
    if code in _TRANSIENT_CODES:
        return True
    return bool(_TRANSIENT.search(text))


def short_error(exc: BaseException) -> str:
    """The telling part of an error from the store, in one short line (the OS error when there is one)."""
    text = " ".join(str(exc).split())
    patterns = (
        r"\[Errno -?\d+\] ([^\"')(]+)",
        r"(too many \d+ error responses)",
        r"(Read timed out)",
        r"(Remote end closed connection without response)",  # the server went away mid-request
    )
    for pattern in patterns:
        found = re.search(pattern, text)
        if found:
            return found.group(1).strip()
    return f"{type(exc).__name__}: {text[:200]}"


class StoreRetry:
    """Calls the store, waiting out transient failures for at most ``budget`` seconds per outage.

    Waits grow exponentially (1, 2, 4, ... 30 s) with full jitter (each wait drawn uniformly between
    half and all of it, so that many clients of one restarted server do not return in step); the jitter
    only decides when a call is retried, never a result. ``notify`` shows one line when an outage
    begins and one when it ends (default: stderr). Thread-safe: concurrent callers share one outage."""

    def __init__(self, target: str, budget: float = DEFAULT_RETRY_SECONDS, notify: Callable[[str], None] | None = None):
        if budget < 0:
            raise ValueError(f"the retry budget must be >= 0 seconds, got {budget}")
        self.target = target
        self.budget = budget
        self.notify = notify or _to_stderr
        self._lock = threading.Lock()
        self._outage_start: float | None = None
        self._failure: str | None = None  # set once the budget is spent: every later call fails at once
        self.outages = 0  # outages ridden out so far

    @property
    def gave_up(self) -> bool:
        """Whether the budget ran out (every call now fails at once)."""
        return self._failure is not None

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        attempt = 0
        while True:
            if self._failure is not None:
                raise TrackingUnavailable(self._failure)
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self._wait(exc, attempt)
                attempt += 1
                continue
            self._recovered()
            return result

    def _wait(self, exc: BaseException, attempt: int) -> None:
        now = time.monotonic()
        with self._lock:
            if self._outage_start is None:
                self._outage_start = now
                self.notify(
                    f"tracking store {self.target} unreachable ({short_error(exc)}): retrying for up to "
                    f"{self.budget:g} s (--tracking-retry-seconds); finished cells wait in memory"
                )
            left = self._outage_start + self.budget - now
            if left <= 0:
                self._failure = (
                    f"tracking store {self.target} unreachable for {now - self._outage_start:.0f} s "
                    f"(last error: {short_error(exc)}); the grid is resumable: run the same command again "
                    f"once the store is back (--tracking-retry-seconds waits longer)"
                )
                raise TrackingUnavailable(self._failure) from None
        wait = min(LONGEST_WAIT, FIRST_WAIT * 2**attempt)
        time.sleep(min(left, random.uniform(wait / 2, wait)))

    def _recovered(self) -> None:
        if self._outage_start is None:  # the common case: no lock taken
            return
        with self._lock:
            if self._outage_start is None:
                return
            self.notify(f"tracking store {self.target} back after {time.monotonic() - self._outage_start:.0f} s")
            self._outage_start = None
            self.outages += 1


class RetryingClient:
    """An ``MlflowClient`` whose every method call goes through a :class:`StoreRetry`.

    ``once`` is the client itself, for calls that must not wait (a heartbeat, best-effort clean-up)."""

    def __init__(self, client: Any, retry: StoreRetry) -> None:
        self.once = client
        self.retry = retry

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.once, name)
        if not callable(attr):
            return attr
        return functools.partial(self.retry.call, attr)


def single_attempt(client: Any) -> Any:
    """The client without the retry (``client`` itself when it has none)."""
    return getattr(client, "once", client)


def gave_up(client: Any) -> bool:
    """Whether ``client``'s retry budget ran out (the store is away: do not even try)."""
    retry = getattr(client, "retry", None)
    return isinstance(retry, StoreRetry) and retry.gave_up


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


__all__ = [
    "DEFAULT_RETRY_SECONDS",
    "RetryingClient",
    "StoreRetry",
    "TrackingUnavailable",
    "configure_http_client",
    "gave_up",
    "is_transient",
    "short_error",
    "single_attempt",
]
