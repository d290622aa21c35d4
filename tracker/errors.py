"""Domain errors. Messages are for people, in Simplified Chinese; the web maps them to HTTP codes."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    """A stale edit: the record changed since the version the user saw."""

    status_code = 409


class InvalidTransition(DomainError):
    status_code = 409


class ValidationFailed(DomainError):
    status_code = 422


class PasswordChangeRequired(Forbidden):
    """The user must change their password first (set by an admin, or expired): pages lead to
    /account/password, the API answers 403 with this message."""
