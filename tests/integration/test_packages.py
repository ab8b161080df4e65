from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.access.nas_admin import SECRET_MIN_LENGTH
from hotspot.catalog.packages import create_package, group_reply_attributes
from hotspot.core.deployment import DEMO_NAS_SECRET
from hotspot.core.errors import ConflictError, InvalidInputError
from hotspot.dev.seed import DEMO_NAS_ADDRESS, seed_demo, seed_gateway_demos
from hotspot.models import Nas, Operator, Package, RadGroupReply
from tests.support.factories import GIB, default_operator, make_package


def group_rows(session: Session, group: str) -> dict[str, str]:
    rows = session.scalars(select(RadGroupReply).where(RadGroupReply.groupname == group))
    return {row.attribute: row.value for row in rows}


def test_a_package_is_a_radius_group_with_speed_interim_and_cap(session: Session) -> None:
    package = make_package(session, rate_limit="2M/5M", data_cap_bytes=GIB, interim_interval=60)
    assert group_rows(session, package.group_name) == {
        "Mikrotik-Rate-Limit": "2M/5M",
        "Acct-Interim-Interval": "60",
        "Mikrotik-Total-Limit": str(GIB),
    }


def test_caps_above_4_gib_carry_gigawords(session: Session) -> None:
    package = make_package(session, data_cap_bytes=5 * GIB)
    rows = group_rows(session, package.group_name)
    assert rows["Mikrotik-Total-Limit-Gigawords"] == "1"
    assert rows["Mikrotik-Total-Limit"] == str(GIB)
    assert int(rows["Mikrotik-Total-Limit-Gigawords"]) * 2**32 + GIB == 5 * GIB


def test_a_package_without_cap_sends_no_limit(session: Session) -> None:
    package = make_package(session, data_cap_bytes=None)
    attributes = {a.attribute for a in group_reply_attributes(package, 60)}
    assert attributes == {"Mikrotik-Rate-Limit", "Acct-Interim-Interval"}


def test_the_demo_packages_are_seeded(session: Session) -> None:
    one_week = group_rows(session, "1-week")
    assert one_week == {"Mikrotik-Rate-Limit": "5M/10M", "Acct-Interim-Interval": "60"}


def test_seeding_again_replaces_the_short_demo_secret_of_older_seeds(session: Session) -> None:
    demo = session.scalars(select(Nas).where(Nas.nasname == DEMO_NAS_ADDRESS)).one()
    demo.secret = "testing123"
    seed_demo(session, interim_interval=60, currency="KES")
    assert demo.secret == DEMO_NAS_SECRET
    assert len(DEMO_NAS_SECRET) >= SECRET_MIN_LENGTH


def test_the_gateway_demos_are_an_operator_each_seeded_once(session: Session) -> None:
    """`hotspot db seed --gateways`: ioTec's and CamPay's demo operators, router and package."""
    for _ in range(2):
        seed_gateway_demos(session, interim_interval=60)
    found = session.execute(
        select(Operator.code, Operator.gateways, Operator.currency, Package.name, Package.price,
               Nas.nasname)
        .join(Package, Package.operator_id == Operator.id)
        .join(Nas, Nas.operator_id == Operator.id)
        .where(Operator.code.in_(["UGDEMO", "CMDEMO"]))
        .order_by(Operator.code)
    ).all()  # fmt: skip
    assert [tuple(row) for row in found] == [
        ("CMDEMO", ["campay"], "XAF", "1 Hour (XAF)", Decimal(100), "127.0.0.3"),
        ("UGDEMO", ["iotec"], "UGX", "1 Hour (UGX)", Decimal(1000), "127.0.0.2"),
    ]


def test_a_rate_limit_must_read_upload_slash_download(session: Session) -> None:
    with pytest.raises(InvalidInputError, match="upload/download"):
        make_package(session, rate_limit="fast")


def test_package_names_are_unique(session: Session) -> None:
    package = make_package(session)
    with pytest.raises(ConflictError):
        create_package(
            session,
            default_operator(session),
            name=package.name,
            price=Decimal(1),
            duration_seconds=60,
            rate_limit="1M/1M",
            interim_interval=60,
        )
