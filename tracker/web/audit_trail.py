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
    audit.record(
        session, actor=user.name, action="login", entity="user", entity_id=user.id, address=client_host(request)
    )


def login_failed(session: Session, request: Request, name: str, reason: str) -> None:
    """A refused login: the name as typed (it may not exist), the reason shown, the address."""
    from sqlalchemy import select

    typed = audit.clean_name(name)
    user_id = session.execute(select(User.id).where(User.name == typed)).scalar() or 0
    audit.record(
        session,
        actor=typed,
        action="login_failed",
        entity="user",
        entity_id=user_id,
        reason=reason,
        address=client_host(request),
    )


def logged_out(session: Session, request: Request, user_id: object) -> None:
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is not None:
        audit.record(
            session, actor=user.name, action="logout", entity="user", entity_id=user.id, address=client_host(request)
        )
