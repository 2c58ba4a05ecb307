"""Page through a SELECT: one COUNT and one LIMIT/OFFSET query, never the whole result in Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass
class PageResult(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.page_size + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.page_size)


def clamp(page: int | None, page_size: int | None) -> tuple[int, int]:
    page = max(1, page or 1)
    page_size = min(MAX_PAGE_SIZE, max(1, page_size or DEFAULT_PAGE_SIZE))
    return page, page_size


def paginate(
    session: Session, stmt: Select[Any], page: int | None = 1, page_size: int | None = DEFAULT_PAGE_SIZE,
    *, scalars: bool = True,
) -> PageResult:
    """``stmt`` must have a total ORDER BY (add the id last) so pages never overlap."""
    page, page_size = clamp(page, page_size)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    paged = stmt.limit(page_size).offset((page - 1) * page_size)
    items = list(session.scalars(paged).unique()) if scalars else list(session.execute(paged))
    return PageResult(items=items, total=total, page=page, page_size=page_size)
