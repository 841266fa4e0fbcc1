"""AuthClient against the real service (embedded default: a demo user with a live session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import unquote

import grpc
import pytest

from better_auth_grpc import (
    AuthClient,
    AuthServiceError,
    AuthUnavailable,
    CredentialKind,
    InvalidCredential,
    InvalidRequest,
    Reason,
    SessionNotFound,
)
from better_auth_grpc.testing import LocalService, free_port

DEMO_EMAIL = "demo@example.com"


@pytest.fixture(scope="module")
def client(service: LocalService) -> Iterator[AuthClient]:
    with AuthClient(service.target) as c:
        yield c


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_raw_session_token_is_valid(client: AuthClient, token: str) -> None:
    v = client.validate_token(token)
    assert v.valid is True
    assert v.reason is Reason.REASON_UNSPECIFIED
    assert v.kind is CredentialKind.SESSION_TOKEN
    assert v.user is not None and v.session is not None
    assert v.user.email == DEMO_EMAIL and v.user.name == "Demo User" and v.user.email_verified
    assert v.session.user_id == v.user.id
    assert v.session.token == token
    assert v.expires_at is not None and v.expires_at > _now() + dt.timedelta(hours=1)
    assert v.expires_at.tzinfo is not None and v.expires_at == v.session.expires_at
    assert v.user.created_at is not None and v.user.created_at <= _now()
    assert v.claims == {} and v.message == ""


@pytest.mark.parametrize(
    ("form", "kind"),
    [
        ("cookie", CredentialKind.SESSION_COOKIE),
        ("bearer", CredentialKind.SESSION_TOKEN),
        ("signed", CredentialKind.SIGNED_SESSION_TOKEN),
        ("signed_decoded", CredentialKind.SIGNED_SESSION_TOKEN),
        ("bearer_signed", CredentialKind.SIGNED_SESSION_TOKEN),
    ],
)
def test_every_credential_form_names_the_same_user(
    client: AuthClient, token: str, cookie: str, signed: str, form: str, kind: CredentialKind
) -> None:
    credential = {
        "cookie": cookie,
        "bearer": f"Bearer {token}",
        "signed": signed,
        "signed_decoded": unquote(signed),
        "bearer_signed": f"Bearer {signed}",
    }[form]
    v = client.validate_token(credential)
    assert v.valid, (v.reason, v.message)
    assert v.kind is kind
    assert v.user is not None and v.user.email == DEMO_EMAIL
    assert v.session is not None and v.session.token == token


def _bad_signature(signed: str) -> str:
    tok, _, sig = unquote(signed).partition(".")
    flipped = ("B" if sig[0] == "A" else "A") + sig[1:]
    return f"{tok}.{flipped}"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda t, c, s: "", Reason.EMPTY),
        (lambda t, c, s: "   ", Reason.EMPTY),
        (lambda t, c, s: "x" * 9000, Reason.TOO_LARGE),
        (lambda t, c, s: "theme=dark; lang=en", Reason.NO_SESSION_COOKIE),
        (lambda t, c, s: "A" * 32, Reason.SESSION_NOT_FOUND),
        (lambda t, c, s: _bad_signature(s), Reason.BAD_SIGNATURE),
        (lambda t, c, s: c.replace(s, _bad_signature(s)), Reason.BAD_SIGNATURE),
    ],
    ids=["empty", "blank", "too-large", "no-session-cookie", "unknown-token", "bad-signature", "bad-cookie"],
)
def test_invalid_credentials_answer_with_a_reason(
    client: AuthClient, token: str, cookie: str, signed: str, make: object, reason: Reason
) -> None:
    credential = make(token, cookie, signed)  # type: ignore[operator]
    v = client.validate_token(credential)
    assert v.valid is False
    assert v.reason is reason, v.message
    assert v.user is None and v.session is None and v.expires_at is None
    assert v.message and token not in v.message


def test_get_session_returns_session_and_user(client: AuthClient, token: str, cookie: str) -> None:
    via_token = client.get_session(token, disable_refresh=True)
    via_cookie = client.get_session(cookie, disable_refresh=True)
    assert via_token.user.email == DEMO_EMAIL
    assert via_token.session.token == token
    assert via_cookie.session.id == via_token.session.id
    assert via_cookie.user == via_token.user


def test_reprs_never_show_the_session_token(client: AuthClient, token: str) -> None:
    v = client.validate_token(token)
    s = client.get_session(token, disable_refresh=True)
    assert token not in repr(v) and token not in repr(s)


@pytest.mark.parametrize(
    ("make", "error", "reason"),
    [
        (lambda t, s: "", InvalidCredential, "EMPTY"),
        (lambda t, s: "theme=dark", InvalidCredential, "NO_SESSION_COOKIE"),
        (lambda t, s: "A" * 32, SessionNotFound, "SESSION_NOT_FOUND"),
        (lambda t, s: _bad_signature(s), SessionNotFound, "BAD_SIGNATURE"),
    ],
    ids=["empty", "no-session-cookie", "unknown-token", "bad-signature"],
)
def test_get_session_errors_carry_the_reason(
    client: AuthClient, token: str, signed: str, make: object, error: type[AuthServiceError], reason: str
) -> None:
    credential = make(token, signed)  # type: ignore[operator]
    with pytest.raises(error) as info:
        client.get_session(credential)
    e = info.value
    assert type(e) is error
    assert e.reason == reason and e.reason_enum is Reason[reason]
    expected = grpc.StatusCode.INVALID_ARGUMENT if error is InvalidCredential else grpc.StatusCode.NOT_FOUND
    assert e.code is expected
    assert token not in str(e)


def test_issue_token_needs_exactly_one_subject(client: AuthClient) -> None:
    with pytest.raises(ValueError):
        client.issue_token()
    with pytest.raises(ValueError):
        client.issue_token(session_token="a", user_id="b")
    with pytest.raises(ValueError):
        client.issue_token(user_id="b", lifetime_seconds=0)
    assert issubclass(InvalidCredential, InvalidRequest)


def test_a_spent_deadline_is_auth_unavailable(client: AuthClient, token: str) -> None:
    # A deadline already spent, not merely tiny: gRPC rounds a 1 µs deadline up to its timer
    # tick, and a local service can answer within that.
    with pytest.raises(AuthUnavailable) as info:
        client.validate_token(token, timeout=0.0)
    assert info.value.code is grpc.StatusCode.DEADLINE_EXCEEDED


def test_nothing_listening_is_auth_unavailable_within_the_deadline() -> None:
    with AuthClient(f"127.0.0.1:{free_port()}", timeout=1.5, max_attempts=3) as c:
        start = _now()
        with pytest.raises(AuthUnavailable) as info:
            c.validate_token("whatever")
        elapsed = (_now() - start).total_seconds()
    assert info.value.code is grpc.StatusCode.UNAVAILABLE
    assert "after 3 attempts" in str(info.value)
    assert elapsed < 1.5


def test_a_stopped_service_is_unavailable_and_a_restarted_one_answers_again(own_service: LocalService) -> None:
    token = own_service.session_token
    assert token
    with AuthClient(own_service.target, timeout=2.0) as c:
        assert c.validate_token(token).valid
        own_service.stop()
        start = _now()
        with pytest.raises(AuthUnavailable) as info:
            c.validate_token(token)
        assert (_now() - start).total_seconds() < 2.0
        assert info.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        own_service.start()
        # The same client (and channel) reconnects by itself, within its reconnect backoff (<= 1 s).
        c2_deadline = _now() + dt.timedelta(seconds=5)
        while True:
            try:
                assert c.validate_token(token).valid
                break
            except AuthUnavailable:
                assert _now() < c2_deadline, "the client did not reconnect to the restarted service"
