"""The hash-chained log: pages of records and the verification of the chain (not for viewers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pulsetwin.api.deps import BackendDep, Reader
from pulsetwin.api.schemas.requests import LogFilter
from pulsetwin.api.schemas.responses import ErrorOut, LogHeadOut, LogRecordOut, LogVerificationOut, Page
from pulsetwin.api.services import log

router = APIRouter(prefix="/log", tags=["log"])
ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}


@router.get("", responses=ERRORS)
def list_log(query: Annotated[LogFilter, Query()], backend: BackendDep, user: Reader) -> Page[LogRecordOut]:
    """Log records, newest first."""
    items, total = log.log_page(backend, query.action, query.limit, query.offset)
    return Page[LogRecordOut](
        items=[LogRecordOut.model_validate(i) for i in items],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )


@router.get("/verify", responses=ERRORS)
def verify_log(backend: BackendDep, user: Reader) -> LogVerificationOut:
    """Check the hash chain, the stored head and the anchors outside the store, from where the last check
    stopped, without holding up other requests; records after the newest anchor are reported unanchored."""
    return LogVerificationOut.model_validate(log.verify(backend))


@router.get("/head", responses=ERRORS)
def log_head(backend: BackendDep, user: Reader) -> LogHeadOut:
    """The chain's current head (seq, hash): anchor it outside the store so a rewritten log shows."""
    return LogHeadOut.model_validate(log.head(backend))
