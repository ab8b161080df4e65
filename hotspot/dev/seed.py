"""Demo data: one local NAS and three packages, created once however often this runs (a demo NAS
still holding an older seed's short secret gets the current one)."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.catalog.packages import create_package
from hotspot.core.deployment import DEMO_NAS_SECRET, RETIRED_DEMO_NAS_SECRETS
from hotspot.models import Nas, Operator, Package
from hotspot.operators.tenants import default_operator_id

GIB = 2**30
HOUR = 3600


class PackageSpec(NamedTuple):
    name: str
    price: Decimal
    duration_seconds: int
    data_cap_bytes: int | None
    rate_limit: str
    devices: int


DEMO_NAS_ADDRESS = "127.0.0.1"
DEMO_PACKAGES = (
    PackageSpec("1 Hour", Decimal("20"), HOUR, 1 * GIB, "2M/5M", 1),
    PackageSpec("1 Day", Decimal("50"), 24 * HOUR, 5 * GIB, "5M/10M", 1),
    PackageSpec("1 Week", Decimal("300"), 7 * 24 * HOUR, None, "5M/10M", 3),
)


def seed_demo(
    session: Session,
    *,
    interim_interval: int,
    currency: str,
    coa_port: int = 3799,
    hotspot_address: str | None = None,
) -> None:
    """`hotspot_address`: where the NAS simulator serves its hotspot pages (the portal posts
    logins only there); also given to a demo NAS seeded before it had one."""
    operator = session.get_one(Operator, default_operator_id(session))
    nas = session.scalar(select(Nas).where(Nas.nasname == DEMO_NAS_ADDRESS))
    if nas is None:
        session.add(
            Nas(
                operator_id=operator.id,
                nasname=DEMO_NAS_ADDRESS,
                shortname="demo",
                type="other",
                secret=DEMO_NAS_SECRET,
                coa_port=coa_port,
                description="demo NAS (nas-sim, radclient)",
                hotspot_address=hotspot_address,
            )
        )
    else:
        if nas.secret in RETIRED_DEMO_NAS_SECRETS:
            nas.secret = DEMO_NAS_SECRET
        if nas.hotspot_address is None:
            nas.hotspot_address = hotspot_address
    existing = set(session.scalars(select(Package.name).where(Package.operator_id == operator.id)))
    for spec in DEMO_PACKAGES:
        if spec.name not in existing:
            create_package(
                session,
                operator,
                **spec._asdict(),
                currency=currency,
                interim_interval=interim_interval,
            )


class GatewayDemo(NamedTuple):
    """An operator paid through another gateway, with a router and a package of its own."""

    code: str
    name: str
    gateway: str
    currency: str
    region: str
    nas_address: str  # a loopback address of its own: FreeRADIUS tells routers apart by it
    price: Decimal

    @property
    def package(self) -> str:
        """Its one package: a name of its own, so that "1 Hour" names the installation's."""
        return f"1 Hour ({self.currency})"


GATEWAY_DEMOS = (
    GatewayDemo("UGDEMO", "Kampala WiFi", "iotec", "UGX", "UG", "127.0.0.2", Decimal(1000)),
    GatewayDemo("CMDEMO", "Douala WiFi", "campay", "XAF", "CM", "127.0.0.3", Decimal(100)),
)


def seed_gateway_demos(session: Session, *, interim_interval: int) -> dict[str, Operator]:
    """Operators paying through ioTec and CamPay (the sandboxes in demo mode), each with a demo
    router and an hour's package in its currency; created once. By gateway."""
    made: dict[str, Operator] = {}
    for demo in GATEWAY_DEMOS:
        operator = session.scalar(select(Operator).where(Operator.code == demo.code))
        if operator is None:
            operator = Operator(code=demo.code, name=demo.name, currency=demo.currency,
                                phone_region=demo.region, gateways=[demo.gateway])  # fmt: skip
            session.add(operator)
            session.flush()
            session.add(
                Nas(operator_id=operator.id, nasname=demo.nas_address, shortname=demo.code.lower(),
                    type="other", secret=DEMO_NAS_SECRET,
                    description=f"demo NAS of {demo.code} (nas-sim, radclient)")
            )  # fmt: skip
            spec = DEMO_PACKAGES[0]
            create_package(session, operator,
                           **{**spec._asdict(), "name": demo.package, "price": demo.price},
                           currency=demo.currency, interim_interval=interim_interval)  # fmt: skip
        made[demo.gateway] = operator
    return made
