"""Exceptions, one per way a call can fail. Messages are the service's own (never a credential)."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import message as _message
from google.rpc import error_details_pb2, status_pb2

from .enums import Reason

_DETAILS_KEY = "grpc-status-details-bin"


class AuthServiceError(Exception):
    """A call failed. `code` is the gRPC status code; `reason` the `google.rpc.ErrorInfo` reason
    the service attached (e.g. "SESSION_EXPIRED", "DATABASE_UNAVAILABLE"), or None."""

    def __init__(self, message: str, *, code: grpc.StatusCode | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason

    @property
    def reason_enum(self) -> Reason:
        """`reason` as a `Reason` member (`UNKNOWN` when it is not one, or absent)."""
        return Reason.from_name(self.reason) if self.reason else Reason.UNKNOWN

    def __str__(self) -> str:
        code = self.code.name if self.code is not None else "ERROR"
        reason = f" [{self.reason}]" if self.reason else ""
        return f"{code}{reason}: {self.message}"


class AuthUnavailable(AuthServiceError):
    """The service (or its database) could not answer in time: UNAVAILABLE after the retries, or
    DEADLINE_EXCEEDED. Retry later; do not treat the credential as invalid."""


class InvalidRequest(AuthServiceError):
    """The request is wrong (INVALID_ARGUMENT), e.g. IssueToken's lifetime out of bounds."""


class InvalidCredential(InvalidRequest):
    """GetSession/IssueToken: the input is no usable credential (INVALID_ARGUMENT whose reason is a
    `Reason`: EMPTY, TOO_LARGE, MALFORMED, NO_SESSION_COOKIE, ...)."""


class SessionNotFound(AuthServiceError):
    """GetSession/IssueToken: no live session (NOT_FOUND; reason BAD_SIGNATURE, SESSION_NOT_FOUND,
    SESSION_EXPIRED, USER_NOT_FOUND)."""


class PermissionDenied(AuthServiceError):
    """The caller (x-api-key) may not do this (PERMISSION_DENIED)."""


class Unauthenticated(AuthServiceError):
    """The caller is not identified: x-api-key missing or unknown (UNAUTHENTICATED)."""


_BY_CODE: dict[grpc.StatusCode, type[AuthServiceError]] = {
    grpc.StatusCode.UNAVAILABLE: AuthUnavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: AuthUnavailable,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidCredential,
    grpc.StatusCode.NOT_FOUND: SessionNotFound,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}


def error_info_reason(trailing_metadata: Any) -> str | None:
    """The `reason` of the first `google.rpc.ErrorInfo` in a status' details, if any."""
    for key, value in trailing_metadata or ():
        if key != _DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except _message.DecodeError:
            return None
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return str(info.reason)
    return None


def from_status(code: grpc.StatusCode, details: str | None, trailing_metadata: Any) -> AuthServiceError:
    """The exception for a failed call's status."""
    reason = error_info_reason(trailing_metadata)
    cls = _BY_CODE.get(code, AuthServiceError)
    if cls is InvalidCredential and (reason is None or Reason.from_name(reason) is Reason.UNKNOWN):
        cls = InvalidRequest
    return cls(details or code.name.lower(), code=code, reason=reason)
