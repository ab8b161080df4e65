"""CoA-Requests after one package edit, measured inside bench/expiry's run (the same stack, NAS
simulator, sessions and workers), so CoA and Disconnect figures come from one run.

The edit goes through the operator's use case (`change_package`) and its after-commit job, as
`PATCH /api/admin/packages/<id>` does; one worker then sends a CoA-Request to every session on
the package. Measured from the edit's commit: when each CoA-Request reached the NAS, and when
its ACK was recorded in `session_disconnections`.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import Engine, func, select

from bench import percentile
from hotspot.adapters import db
from hotspot.billing.notify import Notifier, connect
from hotspot.catalog.package_admin import ChangePackage, change_package
from hotspot.core.settings import Settings
from hotspot.models import Package, SessionDisconnection
from hotspot.operators.actor import Actor
from hotspot.operators.followups import Followups, run_followups
from radius.nas_sim import NasSimulator

PACKAGE = "1 Hour"  # the package of bench/expiry's users


def edit_package(settings: Settings, engine: Engine) -> float:
    """A new speed for every session on the package; returns the time.time() of its commit."""
    followups = Followups()
    with db.transaction(db.session_factory(engine)) as session:
        package = session.scalars(select(Package).where(Package.name == PACKAGE)).one()
        change_package(
            session,
            Actor("bench", None),
            ChangePackage(package.id, rate_limit="8M/16M"),
            interim_interval=settings.acct_interim_interval,
            now=dt.datetime.now(dt.UTC),
            followups=followups,
        )
    committed = time.time()
    notifier = Notifier(connect(settings.effective_redis_url), settings.credentials_cache_ttl)
    run_followups(followups, notifier)
    return committed


def coa_rows(
    engine: Engine, nas: NasSimulator, edited: float, sessions: int
) -> list[tuple[str, ...]]:
    """The figures, once every session's CoA attempt is recorded (or 60 s passed)."""
    deadline = time.monotonic() + 60
    acks: list[float] = []
    while time.monotonic() < deadline:
        acks = ack_times(engine)
        if len(acks) >= sessions:
            break
        time.sleep(0.5)
    arrived = [r.received_at - edited for r in nas.received if r.kind == "CoA-Request"]
    acked = sum(1 for r in nas.received if r.reply_kind == "CoA-ACK")
    lags = [at - edited for at in acks]
    return [
        ("CoA-Requests received", f"{len(arrived)}", f"{sessions}"),
        ("CoA-ACKs sent by the NAS", f"{acked}", f"{sessions}"),
        ("edit → last CoA received", _seconds(max(arrived, default=None)), "≤ 5 s"),
        ("edit → CoA received p50", _seconds(percentile(arrived, 0.5) if arrived else None), ""),
        ("ACKs recorded", f"{len(acks)}", f"{sessions}"),
        ("edit → ACK recorded p99", _seconds(percentile(lags, 0.99) if lags else None), ""),
    ]


def ack_times(engine: Engine) -> list[float]:
    """When each CoA ACK was recorded (its transaction's time)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(func.extract("epoch", SessionDisconnection.created_at)).where(
                SessionDisconnection.request == "coa", SessionDisconnection.result == "ack"
            )
        )
        return [float(at) for (at,) in rows]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"
