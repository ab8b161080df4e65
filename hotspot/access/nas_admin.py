"""What an operator does to routers (NAS rows): register, change and delete them, each audited.

FreeRADIUS reads the `nas` table itself (a dynamic client), so a change needs no restart. A NAS
secret is never echoed nor written to the audit log: a change says only that it changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspot.core.errors import ConflictError, InvalidInputError
from hotspot.core.parsing import IPAddress
from hotspot.core.values import (
    UNCHANGED,
    Unchanged,
    bounded,
    given_fields,
    optional_text,
    required_text,
)
from hotspot.models import Nas
from hotspot.operators.actor import Actor
from hotspot.operators.audit import audit
from hotspot.operators.listing import Listing, Page, paged

# A RADIUS secret is all that keeps a captured packet from being brute-forced offline
# (BlastRADIUS advice: at least 16 characters, better 22 random ones).
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 128


@dataclass(frozen=True)
class CreateNas:
    nasname: IPAddress
    shortname: str
    secret: str
    type: str = "other"
    coa_port: int = 3799
    description: str | None = None
    require_message_authenticator: bool = True
    hotspot_address: str | None = None  # host[:port], as `routers.canonical_address` spells it
    operator: str | None = None  # the owner's code: a platform actor's choice


@dataclass(frozen=True)
class ChangeNas:
    """Only the fields given change."""

    nas_id: int
    nasname: IPAddress | Unchanged = UNCHANGED
    shortname: str | Unchanged = UNCHANGED
    secret: str | Unchanged = UNCHANGED
    type: str | Unchanged = UNCHANGED
    coa_port: int | Unchanged = UNCHANGED
    description: str | Unchanged | None = UNCHANGED
    require_message_authenticator: bool | Unchanged = UNCHANGED
    hotspot_address: str | Unchanged | None = UNCHANGED


@dataclass(frozen=True)
class DeleteNas:
    nas_id: int


def _checked_secret(value: str) -> str:
    """Never echoed: the reasons name only its length."""
    secret = required_text(value, "secret", SECRET_MAX_LENGTH)
    if secret != value:
        raise InvalidInputError("secret must not start or end with spaces")
    if len(secret) < SECRET_MIN_LENGTH:
        raise InvalidInputError(
            f"secret must be at least {SECRET_MIN_LENGTH} characters, not {len(secret)} "
            "(a short RADIUS secret can be guessed offline from one captured packet)"
        )
    return secret


_RULES: dict[str, Callable[[Any], Any]] = {
    "nasname": str,
    "shortname": lambda v: required_text(v, "shortname", 64),
    "secret": _checked_secret,
    "type": lambda v: required_text(v, "type", 32),
    "coa_port": lambda v: bounded(v, "coa_port", 1, 65535),
    "description": lambda v: optional_text(v, "description", 200),
    "require_message_authenticator": lambda v: v,
    "hotspot_address": lambda v: v,
}
NAS_FIELDS = tuple(_RULES)


def list_nas(session: Session, actor: Actor, page: Page) -> Listing[Nas]:
    return paged(session, actor.visible(select(Nas), Nas.operator_id).order_by(Nas.id), page)


def get_nas(session: Session, actor: Actor, nas_id: int, *, lock: bool = False) -> Nas:
    nas: Nas = actor.found(session.get(Nas, nas_id, with_for_update=lock), f"no NAS {nas_id}")
    return nas


def _nas_clash(session: Session, actor: Actor, nasname: str, other_than: int | None) -> None:
    """Addresses are one namespace (FreeRADIUS tells routers apart by them); another operator's
    router is not named."""
    stmt = select(Nas).where(Nas.nasname == nasname)
    if other_than is not None:
        stmt = stmt.where(Nas.id != other_than)
    clash = session.scalar(stmt)
    if clash is not None and actor.sees(clash.operator_id):
        raise ConflictError(f"NAS {clash.id} already has the address {nasname}")
    if clash is not None:
        raise ConflictError(f"the address {nasname} is another operator's router")


def _nas_detail(nas: Nas) -> dict[str, Any]:
    return {
        "nasname": nas.nasname,
        "shortname": nas.shortname,
        "type": nas.type,
        "coa_port": nas.coa_port,
        "description": nas.description,
        "require_message_authenticator": nas.require_message_authenticator,
        "hotspot_address": nas.hotspot_address,
    }


def create_nas(session: Session, actor: Actor, command: CreateNas) -> Nas:
    values = {name: rule(getattr(command, name)) for name, rule in _RULES.items()}
    owner = actor.owner(session, command.operator)
    _nas_clash(session, actor, values["nasname"], None)
    nas = Nas(**values, operator_id=owner.id)
    session.add(nas)
    session.flush()
    audit(session, actor, "nas.create", f"nas:{nas.id}", _nas_detail(nas), owner=owner.id)
    return nas


def change_nas(session: Session, actor: Actor, command: ChangeNas) -> Nas:
    given = given_fields(command, "nas_id")
    if not given:
        raise InvalidInputError(f"nothing to change (fields: {', '.join(NAS_FIELDS)})")
    values = {name: _RULES[name](value) for name, value in given.items()}
    nas = get_nas(session, actor, command.nas_id, lock=True)
    if "nasname" in values:
        _nas_clash(session, actor, values["nasname"], nas.id)
    changed: dict[str, Any] = {}
    for name, value in values.items():
        if getattr(nas, name) == value:
            continue
        if name == "secret":
            changed["secret_changed"] = True  # never the secret itself
        else:
            changed[name] = {"from": getattr(nas, name), "to": value}
        setattr(nas, name, value)
    if changed:
        audit(
            session,
            actor,
            "nas.change",
            f"nas:{nas.id}",
            {"changes": changed},
            owner=nas.operator_id,
        )
    return nas


def delete_nas(session: Session, actor: Actor, command: DeleteNas) -> Nas:
    nas = get_nas(session, actor, command.nas_id, lock=True)
    detail = _nas_detail(nas)
    session.delete(nas)
    audit(session, actor, "nas.delete", f"nas:{command.nas_id}", detail, owner=nas.operator_id)
    return nas
