"""What an operator's change leaves for after its commit: a payment's side effects (Redis, jobs),
Disconnect-Requests and CoA-Requests, collected in the transaction and run once it committed."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotspot.billing.notify import Notifier, dispatch
from hotspot.billing.payment_state import AfterCommit

DISCONNECT_JOB = "jobs.expiry.disconnect_user"
CHANGE_PACKAGE_JOB = "jobs.live.change_package_sessions"


@dataclass(frozen=True)
class Disconnect:
    """Every open session of `username`, by the worker, as job `job_id` (one per audit row)."""

    username: str
    reason: str
    job_id: str


@dataclass
class Followups:
    after: AfterCommit = field(default_factory=AfterCommit)
    disconnects: list[Disconnect] = field(default_factory=list)
    # Packages whose sessions online get CoA-Requests: (package id, job id).
    changed_packages: list[tuple[int, str]] = field(default_factory=list)


def run_followups(followups: Followups, notifier: Notifier) -> None:
    dispatch(followups.after, notifier)
    for each in followups.disconnects:
        notifier.enqueue(DISCONNECT_JOB, each.username, each.reason, job_id=each.job_id)
    for package_id, job_id in followups.changed_packages:
        notifier.enqueue(CHANGE_PACKAGE_JOB, package_id, "package change", job_id=job_id)
