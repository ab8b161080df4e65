"""Who acts, and over which operator's data: every admin use case takes an `Actor`.

An operator's token acts for that operator only: what it lists is filtered, and a row of another
operator is "not found", exactly like a row that does not exist, so ids and names of other
operators' data reveal nothing. A platform token (and the CLI, which holds the database's
credentials anyway) acts over every operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hotspot.core.errors import InvalidInputError, NotFoundError
from hotspot.models import Operator

S = TypeVar("S")  # a Select of any columns


@dataclass(frozen=True)
class Actor:
    name: str  # the audit log's actor
    operator_id: int | None  # None: the platform, over every operator

    @property
    def platform(self) -> bool:
        return self.operator_id is None

    def visible(self, stmt: S, column: Any) -> S:
        """`stmt` narrowed to the rows this actor may see, by their operator `column`."""
        if self.operator_id is None:
            return stmt
        narrowed: S = cast(Select[Any], stmt).where(column == self.operator_id)  # type: ignore[assignment]
        return narrowed

    def sees(self, operator_id: int | None) -> bool:
        return self.operator_id is None or operator_id == self.operator_id

    def found(self, row: Any, missing: str) -> Any:
        """The row when it exists and is this actor's to see, else NotFoundError(missing)."""
        if row is None or not self.sees(row.operator_id):
            raise NotFoundError(missing)
        return row

    def owner(self, session: Session, code: str | None = None) -> Operator:
        """The operator a new row belongs to: an operator's own (naming another is "no such
        operator"); for the platform, the one named, or the only one there is."""
        if code is not None:
            wanted = session.scalar(select(Operator).where(Operator.code == code.strip().upper()))
            if wanted is None or not self.sees(wanted.id):
                raise NotFoundError(f"no operator {code!r}")
            return wanted
        if self.operator_id is not None:
            own = session.get(Operator, self.operator_id)
            assert own is not None  # a token's operator_id is a foreign key
            return own
        every = list(session.scalars(select(Operator).order_by(Operator.id).limit(2)))
        if len(every) != 1:
            raise InvalidInputError("name the operator (field or option 'operator': its code)")
        return every[0]


CLI = Actor("cli", None)
