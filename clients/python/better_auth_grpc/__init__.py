"""Python client for better-auth-grpc: who does a Better Auth credential belong to, and is it valid?

    from better_auth_grpc import AuthClient

    with AuthClient("127.0.0.1:50051") as auth:
        v = auth.validate_token(request_cookie_header)
        if v.valid:
            print(v.user.email, v.kind)
        else:
            print(v.reason.name, v.message)

`AsyncAuthClient` is the asyncio twin; `better_auth_grpc.fastapi` has FastAPI dependencies.
"""

from ._local_cache import LocalCacheStats
from ._policy import CallPolicy
from .aio import AsyncAuthClient
from .client import AuthClient
from .enums import CredentialKind, Reason
from .errors import (
    AuthServiceError,
    AuthUnavailable,
    InvalidCredential,
    InvalidRequest,
    PermissionDenied,
    SessionNotFound,
    Unauthenticated,
)
from .models import IssuedToken, Session, SessionAndUser, User, Validation

__all__ = [
    "AsyncAuthClient",
    "AuthClient",
    "AuthServiceError",
    "AuthUnavailable",
    "CallPolicy",
    "CredentialKind",
    "InvalidCredential",
    "InvalidRequest",
    "IssuedToken",
    "LocalCacheStats",
    "PermissionDenied",
    "Reason",
    "Session",
    "SessionAndUser",
    "SessionNotFound",
    "Unauthenticated",
    "User",
    "Validation",
]

__version__ = "0.1.0"
