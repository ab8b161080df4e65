"""Sending Disconnect-Requests and CoA-Requests and recording the answers, for the expiry and
live-session jobs: one path for both, so every attempt is recorded, retried and given up alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from hotspot.access.termination import AttemptResult, OpenSession, record_attempts
from hotspot.adapters.db import transaction
from hotspot.services import Services
from radius.dynauth import DynAuthResult, SentRequests, SessionOnNas, send_requests

Changes = tuple[tuple[str, str | int], ...]


@dataclass(frozen=True)
class Kind:
    """A kind of request: how it is recorded, the job that retries one session, its delays."""

    request: str  # session_disconnections.request
    retry_job: str  # called with (acct_unique_id, reason, attempt)
    delays: str  # the setting: seconds between attempts, comma-separated


def disconnect_kind(s: Services) -> Kind:
    return Kind("disconnect", "jobs.expiry.disconnect_session", s.settings.disconnect_retry_delays)


def coa_kind(s: Services) -> Kind:
    return Kind("coa", "jobs.live.change_session", s.settings.coa_retry_delays)


def send(
    s: Services, found: Sequence[OpenSession], changes: Sequence[Changes] | None = None
) -> SentRequests:
    """Disconnect-Requests, or CoA-Requests with each session's `changes`, all at once."""
    targets = [
        SessionOnNas(
            nas_ip=each.nas_ip,
            coa_port=each.coa_port,
            secret=each.secret,
            username=each.username,
            acct_session_id=each.acct_session_id,
            framed_ip=each.framed_ip,
            changes=changes[index] if changes is not None else (),
        )
        for index, each in enumerate(found)
    ]
    return send_requests(targets, timeout=s.settings.disconnect_timeout)


def attempt_result(result: DynAuthResult) -> AttemptResult:
    return AttemptResult(result.answer.value, result.error_cause, result.session_gone)


def record_answers(
    s: Services,
    found: Sequence[OpenSession],
    sent: SentRequests,
    *,
    reason: str,
    attempt: int,
    kind: Kind,
) -> list[str]:
    """Every attempt recorded in one transaction once all answers are in; retries are
    scheduled for the sessions the NAS did not answer for. Returns each one's outcome."""
    results = [attempt_result(each) for each in sent.results()]
    delays = retry_delays(kind.delays)
    with transaction(s.sessions) as session:
        outcomes = record_attempts(
            session,
            list(zip(found, results, strict=True)),
            reason=reason,
            attempt=attempt,
            final=attempt > len(delays),
            now=dt.datetime.now(dt.UTC),
            request=kind.request,
        )
    for each, outcome in zip(found, outcomes, strict=True):
        if outcome == "retry":
            s.notifier.enqueue_in(
                dt.timedelta(seconds=delays[attempt - 1]),
                kind.retry_job,
                each.acct_unique_id,
                reason,
                attempt + 1,
                job_id=f"{kind.request}-{each.acct_unique_id}-{attempt + 1}",
            )
    return outcomes


def retry_delays(setting: str) -> list[float]:
    return [float(part) for part in setting.split(",") if part.strip()]
