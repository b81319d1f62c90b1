"""Cell leases: a grid cell is claimed before it is computed, so concurrent invocations sharing one
tracking store never compute the same cell twice.

The protocol needs one atomic step that works the same through a direct database URI (sqlite,
postgresql) and through an HTTP MLflow server, whose clients have no database access. It uses the
one uniqueness MLflow enforces in every backend: **experiment names** (a unique constraint on
``(workspace, name)`` in the SQL stores, kept by deleted experiments too; the HTTP server runs the
same SQL store). ``create_experiment(name)`` therefore succeeds for exactly one caller per name and
raises ``RESOURCE_ALREADY_EXISTS`` for every other.

A lease on cell ``key`` of experiment ``E`` is the experiment named ``mvbench.lease/E/key/G``, for a
generation ``G = 0, 1, 2, ...``; the newest generation is the lease's state:

* **live** -- active, and its ``expires`` tag (the holder's clock + ``ttl``) is in the future, and
  its holder is not a dead process of this host: the cell is left to the holder;
* **released** -- deleted (the holder logged the cell's result, or gave up);
* **stale** -- active but expired (a crashed or cut-off holder on another host), or held by a dead
  process of this host (detected at once, as for tracking runs).

Claiming creates generation 0, or, when the newest generation ``G`` is released or stale, generation
``G + 1``. Generations are only ever created by the unique-name insert, so of any number of
claimants racing for the same generation exactly one wins; the losers read the winner's live lease
and leave the cell to it. The holder renews ``expires`` (a heartbeat thread, every ``ttl / 4``) while
the cell computes, and deletes its lease once the result is logged. A holder whose stale lease was
taken over finds its experiment deleted on the next renewal and reports the lease lost.

Assumptions: hosts' clocks agree to well within ``ttl`` (NTP); no ``mlflow gc`` permanently deletes
lease experiments while grids run (it would free generation names).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from mvbench.record.resilience import gave_up, is_transient, single_attempt
from mvbench.record.schema import LEASE_EXPIRES_TAG as EXPIRES_TAG
from mvbench.record.schema import LEASE_HOLDER_TAG as HOLDER_TAG
from mvbench.record.schema import LEASE_PREFIX as PREFIX
from mvbench.record.tracking import TrackingError, owner, owner_alive

#: Default lease lifetime in seconds (``MVBENCH_LEASE_SECONDS`` overrides it).
DEFAULT_TTL = 120.0
_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
log = logging.getLogger(__name__)


def lease_ttl() -> float:
    """The lease lifetime: ``$MVBENCH_LEASE_SECONDS`` or :data:`DEFAULT_TTL`."""
    value = os.environ.get("MVBENCH_LEASE_SECONDS")
    if not value:
        return DEFAULT_TTL
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise TrackingError(f"MVBENCH_LEASE_SECONDS must be a positive number of seconds, got {value!r}")
    return seconds


@dataclass
class Lease:
    """A lease this process holds on one cell."""

    key: str
    generation: int
    experiment_id: str  # of the lease experiment
    expires: float
    #: True when an earlier generation existed (released or stale): the cell may have been computed
    #: meanwhile, so the caller checks for a result before computing it.
    taken_over: bool = False


@dataclass
class LeaseState:
    """The newest generation of a cell's lease, as read from the store."""

    generation: int
    experiment_id: str
    active: bool
    holder: str
    expires: float

    def live(self, now: float) -> bool:
        return self.active and self.expires > now and owner_alive(self.holder.rpartition("/")[0])


@dataclass
class LeaseBoard:
    """Claims, renews and releases the leases of one experiment's cells for one process.

    ``client`` is an ``MlflowClient`` of the shared tracking store (any URI MLflow accepts)."""

    client: Any
    experiment_id: str
    ttl: float = field(default_factory=lease_ttl)
    holder: str = field(default_factory=lambda: f"{owner()}/{uuid.uuid4().hex[:12]}")
    held: dict[str, Lease] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.ttl <= 0:
            raise ValueError(f"lease lifetime must be positive, got {self.ttl}")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def name(self, key: str, generation: int | None = None) -> str:
        """The lease experiment's name; without ``generation``, the prefix of all of ``key``'s."""
        return f"{PREFIX}{self.experiment_id}/{key}/{'' if generation is None else generation}"

    # -- claiming ---------------------------------------------------------------------------------
    def claim(self, key: str) -> Lease | None:
        """Claim cell ``key``: the new lease, or None when another live holder has it."""
        lease = self._create(key, 0, taken_over=False)
        for _ in range(8):  # each lost round means a newer live generation exists: ends at once
            if lease is not None:
                return lease
            state = self.state(key)
            if state is None:  # generation names were purged (mlflow gc): start again
                lease = self._create(key, 0, taken_over=False)
                continue
            if state.live(time.time()):
                if state.holder != self.holder:
                    return None
                # ours: a create whose reply was lost (retried request), or a second claim
                lease = Lease(key, state.generation, state.experiment_id, state.expires, state.generation > 0)
                with self._lock:
                    self.held[key] = lease
                return lease
            lease = self._create(key, state.generation + 1, taken_over=True)
            if lease is not None and state.active:  # a stale lease: hide it (best effort)
                self._delete(state.experiment_id)
        return None

    def _create(self, key: str, generation: int, taken_over: bool) -> Lease | None:
        """The atomic step: create the generation's experiment; None if it already exists."""
        from mlflow.exceptions import MlflowException

        expires = time.time() + self.ttl
        try:
            exp_id = self.client.create_experiment(
                self.name(key, generation), tags={HOLDER_TAG: self.holder, EXPIRES_TAG: repr(expires)}
            )
        except MlflowException as exc:
            if exc.error_code == _ALREADY_EXISTS:
                return None
            raise
        lease = Lease(key, generation, exp_id, expires, taken_over)
        with self._lock:
            self.held[key] = lease
        return lease

    def state(self, key: str) -> LeaseState | None:
        """The newest generation of ``key``'s lease (None if it never was claimed)."""
        from mlflow.entities import ViewType

        prefix = self.name(key)
        found = self.client.search_experiments(
            view_type=ViewType.ALL, max_results=1000, filter_string=f"name LIKE '{prefix}%'"
        )
        newest = None
        for exp in found:
            generation = exp.name[len(prefix) :]
            if exp.name.startswith(prefix) and generation.isdigit():
                if newest is None or int(generation) > int(newest.name[len(prefix) :]):
                    newest = exp
        if newest is None:
            return None
        return LeaseState(
            int(newest.name[len(prefix) :]),
            newest.experiment_id,
            newest.lifecycle_stage == "active",
            newest.tags.get(HOLDER_TAG, ""),
            float(newest.tags.get(EXPIRES_TAG, "0")),
        )

    # -- holding ----------------------------------------------------------------------------------
    def release(self, key: str) -> bool:
        """Release the lease on ``key`` (after its result is logged); False if it was not held or lost."""
        with self._lock:
            lease = self.held.pop(key, None)
        return lease is not None and self._delete(lease.experiment_id)

    def release_all(self, wait: bool = True) -> None:
        """Release every held lease; ``wait=False``: one attempt each, errors ignored (leaving on an
        error: a lease left behind goes stale, at once for this host's next invocation)."""
        for key in list(self.held):
            if wait:
                self.release(key)
                continue
            lease = self.held.pop(key, None)
            try:
                if lease is not None and not gave_up(self.client):
                    single_attempt(self.client).delete_experiment(lease.experiment_id)
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass

    def renew(self) -> None:
        """Push every held lease's expiry ``ttl`` into the future; a lease found deleted (taken over
        by another claimant after it went stale) is dropped and listed in ``lost``. One attempt per
        lease, never waiting: an unreachable store is tried again on the next beat."""
        with self._lock:
            leases = list(self.held.values())
        for lease in leases:
            self._renew(lease, single_attempt(self.client))

    def _renew(self, lease: Lease, client: Any) -> bool:
        """Renew one lease through ``client``; False if it was lost (or the store did not answer)."""
        from mlflow.exceptions import MlflowException

        expires = time.time() + self.ttl
        try:
            client.set_experiment_tag(lease.experiment_id, EXPIRES_TAG, repr(expires))
            lease.expires = expires
            return True
        except MlflowException as exc:
            if exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):  # deleted
                self._drop_lost(lease)
                log.warning("lease on cell %s was taken over by another claimant", lease.key)
            elif is_transient(exc):  # the store is away: the runner's retry says so, once
                log.debug("cannot renew the lease on cell %s: %s", lease.key, exc)
            else:
                log.warning("cannot renew the lease on cell %s: %s", lease.key, exc)
            return False

    def _drop_lost(self, lease: Lease) -> None:
        with self._lock:
            if self.held.get(lease.key) is lease:
                del self.held[lease.key]
                self.lost.append(lease.key)

    def confirm(self, key: str) -> bool:
        """Whether this process still holds ``key``'s lease, checked before its result is logged.

        A lease renewed on time (the heartbeat keeps it at least ``3/4 ttl`` ahead) costs nothing. One
        that went unrenewed for long (the store was away) may have expired and been taken over once
        the store returned: it is renewed and read back, and a lease another claimant now holds is
        dropped (listed in ``lost``), so that the cell is logged by the holder alone."""
        lease = self.held.get(key)
        if lease is None:
            return False
        if lease.expires - time.time() > self.ttl / 2:
            return True
        state = self.state(key)
        if state is None or state.generation != lease.generation or not state.active:
            self._drop_lost(lease)
            return False
        if not self._renew(lease, self.client):
            return False
        state = self.state(key)  # a claimant that read the expired lease before the renewal has taken over
        if state is None or state.generation != lease.generation or not state.active:
            self._drop_lost(lease)
            return False
        return True

    def _delete(self, experiment_id: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.delete_experiment(experiment_id)
            return True
        except MlflowException:  # already deleted: taken over
            return False

    def __enter__(self) -> LeaseBoard:
        """Start the heartbeat thread (renews every ``ttl / 4``); leaving releases all leases."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="mvbench-lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.release_all(wait=exc_type is None)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self.renew()
            except Exception as exc:  # the store is briefly unreachable: try again next beat
                (log.debug if is_transient(exc) else log.warning)("lease heartbeat failed: %s", exc)


__all__ = ["LeaseBoard", "Lease", "LeaseState", "lease_ttl", "DEFAULT_TTL", "EXPIRES_TAG"]
