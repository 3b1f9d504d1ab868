"""List options: ordering, page size and opaque page tokens (keyset pagination).

A token carries the sort key of the last row returned and a fingerprint of the
options it was made for, so a page costs the same at row 10 and at row 10 million, and
a token replayed with other options is refused instead of returning wrong rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, and_, or_

from lineage.errors import InvalidArgument

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

ORDER_FIELDS = {
    "CREATE_TIME": "create_time_since_epoch",
    "LAST_UPDATE_TIME": "last_update_time_since_epoch",
    "ID": "id",
}


@dataclass
class ListOptions:
    """MLMD's ``ListOperationOptions``."""

    max_result_size: int = DEFAULT_PAGE_SIZE
    order_by: str = "ID"  # CREATE_TIME | LAST_UPDATE_TIME | ID
    is_asc: bool = True
    next_page_token: str | None = None
    filter_query: str | None = None

    def fingerprint(self) -> str:
        # What a page token holds the caller to: the order only. MLMD lets the next call
        # change filter_query, and the next page is then of the new filter.
        raw = json.dumps([self.order_by, self.is_asc])
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _encode_token(options: ListOptions, last_value: Any, last_id: int) -> str:
    payload = {"f": options.fingerprint(), "v": last_value, "i": last_id}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _decode_token(options: ListOptions) -> tuple[Any, int] | None:
    token = options.next_page_token
    if not token:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        fingerprint, last_value, last_id = payload["f"], payload["v"], int(payload["i"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise InvalidArgument("next_page_token is malformed: pass back a token unchanged") from None
    if fingerprint != options.fingerprint():
        raise InvalidArgument("next_page_token was made for another order (order_by_field changed)")
    if not all(_is_int64(v) for v in (last_id, last_value) if v is not None):
        raise InvalidArgument("next_page_token is malformed: pass back a token unchanged")
    return last_value, last_id


def _is_int64(value: Any) -> bool:
    return isinstance(value, int) and -(2**63) <= value < 2**63


def validate(options: ListOptions) -> None:
    if options.max_result_size < 1:
        raise InvalidArgument(f"max_result_size must be at least 1, got {options.max_result_size}")
    if options.order_by not in ORDER_FIELDS:
        raise InvalidArgument(
            f"cannot order by {options.order_by!r}: use one of {', '.join(ORDER_FIELDS)}"
        )


def page(query: Select, table: Table, options: ListOptions) -> Select:
    """Order, limit (one extra row, to know whether there is a next page) and seek."""
    validate(options)
    column = table.c[ORDER_FIELDS[options.order_by]]
    id_column = table.c.id
    position = _decode_token(options)
    if position is not None:
        last_value, last_id = position
        if column is id_column:
            query = query.where(id_column > last_id if options.is_asc else id_column < last_id)
        elif options.is_asc:
            query = query.where(
                or_(column > last_value, and_(column == last_value, id_column > last_id))
            )
        else:
            query = query.where(
                or_(column < last_value, and_(column == last_value, id_column < last_id))
            )
    if column is id_column:
        order = [id_column.asc() if options.is_asc else id_column.desc()]
    else:
        order = (
            [column.asc(), id_column.asc()] if options.is_asc else [column.desc(), id_column.desc()]
        )
    size = min(options.max_result_size, MAX_PAGE_SIZE)
    return query.order_by(*order).limit(size + 1)


def next_token(options: ListOptions, rows: list[Any]) -> tuple[list[Any], str | None]:
    """Trim the extra row fetched by ``page`` and make the token for what follows."""
    size = min(options.max_result_size, MAX_PAGE_SIZE)
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = rows[-1]
    field = ORDER_FIELDS[options.order_by]
    return rows, _encode_token(options, int(getattr(last, field)), int(last.id))
