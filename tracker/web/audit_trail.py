"""The web side of the audit journal: the client's address on every record, logins and logouts."""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session

from tracker import audit
from tracker.models import User


def client_host(request: Request) -> str | None:
    return request.client.host[:64] if request.client and request.client.host else None


async def remember_client(request: Request) -> None:
    """App-wide dependency: records made while serving this request carry the client's address.

    Async on purpose: it runs in the request's own context, which the endpoint (even one run in the
    thread pool) inherits."""
    audit.client_address.set(client_host(request))


def login_succeeded(session: Session, request: Request, user: User) -> None:
    audit.login(session, user=user, address=client_host(request))


def login_failed(session: Session, request: Request, name: str, reason: str) -> None:
    audit.login_failed(session, name=name, reason=reason, address=client_host(request))


def logged_out(session: Session, request: Request, user_id: object) -> None:
    if isinstance(user_id, int):
        audit.logout(session, user_id=user_id, address=client_host(request))
