"""What a deployment checks before it starts, beyond the settings (`Settings.require_deployable`):
production refuses a `nas` table still holding a router with a demo secret, which is public."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotspot.models import Nas
from hotspot.seed import DEMO_NAS_SECRET, RETIRED_DEMO_NAS_SECRETS
from hotspot.settings import PRODUCTION, ConfigurationError, Settings

DEMO_NAS_SECRETS = (DEMO_NAS_SECRET, *RETIRED_DEMO_NAS_SECRETS)


def demo_nas_problems(session: Session) -> list[str]:
    """One problem per router whose secret is a demo one, named by nasname (never the secret)."""
    names = session.scalars(
        select(Nas.nasname).where(Nas.secret.in_(DEMO_NAS_SECRETS)).order_by(Nas.nasname)
    )
    return [
        f"the NAS {name} has a published demo secret: give it a secret of its own "
        "(PATCH /api/admin/nas/<id>) or delete it"
        for name in names
    ]


def require_no_demo_nas(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """In production (only), refuse to start while a router has a demo secret."""
    if settings.environment != PRODUCTION:
        return
    with sessions() as session:
        problems = demo_nas_problems(session)
    if problems:
        raise ConfigurationError(settings.environment, problems)
