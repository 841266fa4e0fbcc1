"""`Reason` and `CredentialKind`, mirroring the proto enums of the same names.

The members are written out so that type checkers see them; tests/test_enums.py checks them against
the generated descriptors, so they cannot drift from proto/auth/v1/auth.proto.
"""

from __future__ import annotations

import enum


class Reason(enum.Enum):
    """Why a credential was refused (`auth.v1.Reason`). `REASON_UNSPECIFIED` accompanies a valid one.

    `UNKNOWN` is not in the proto: it stands for a value a newer service sent that this client does
    not know yet.
    """

    UNKNOWN = -1
    REASON_UNSPECIFIED = 0
    MALFORMED = 1
    BAD_SIGNATURE = 2
    SESSION_NOT_FOUND = 3
    SESSION_EXPIRED = 4
    USER_NOT_FOUND = 5
    EMPTY = 6
    TOO_LARGE = 7
    NO_SESSION_COOKIE = 8
    SIGNATURE_REQUIRED = 9
    JWT_EXPIRED = 20
    JWT_NOT_YET_VALID = 21
    JWT_BAD_SIGNATURE = 22
    JWT_UNKNOWN_KEY = 23
    JWT_ALG_NOT_ALLOWED = 24
    JWT_FORBIDDEN_HEADER = 25
    JWT_BAD_ISSUER = 26
    JWT_BAD_AUDIENCE = 27
    JWT_MISSING_SUBJECT = 28
    JWT_MALFORMED = 29
    USER_BANNED = 30
    UNSUPPORTED = 31

    @classmethod
    def _missing_(cls, value: object) -> Reason:
        return cls.UNKNOWN

    @classmethod
    def from_name(cls, name: str) -> Reason:
        """The member named `name` (as in a `google.rpc.ErrorInfo` reason), else `UNKNOWN`."""
        member = cls.__members__.get(name)
        return member if member is not None else cls.UNKNOWN


class CredentialKind(enum.Enum):
    """What the caller presented, once recognised (`auth.v1.CredentialKind`).

    `UNKNOWN` is not in the proto: a value from a newer service that this client does not know yet.
    """

    UNKNOWN = -1
    CREDENTIAL_KIND_UNSPECIFIED = 0
    SESSION_TOKEN = 1
    SIGNED_SESSION_TOKEN = 2
    SESSION_COOKIE = 3
    JWT = 4

    @classmethod
    def _missing_(cls, value: object) -> CredentialKind:
        return cls.UNKNOWN
