"""Stateless token validation: the one check every protocol's adapter uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings

from mlplatform.auth import Principal, principal_from_authorization
from mlplatform.errors import ErrorCode, PlatformError
from mlplatform.tokens import access_token_for


def _claims(**extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "token_type": "access",
        "user_id": "7",
        "username": "alice",
        "is_staff": False,
        "exp": now + timedelta(minutes=5),
        "iat": now,
        **extra,
    }


def _sign(claims: dict[str, Any], key: str | None = None) -> str:
    return jwt.encode(claims, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


@pytest.mark.parametrize("prefix", ["Bearer", "JWT", "bearer"])
def test_both_prefixes_are_accepted(prefix: str) -> None:
    principal = principal_from_authorization(f"{prefix} {_sign(_claims())}")

    assert principal == Principal(user_id=7, username="alice", is_staff=False)


def test_issued_token_carries_staff_flag(staff: Any) -> None:
    principal = principal_from_authorization(f"Bearer {access_token_for(staff)}")

    assert principal == Principal(user_id=staff.pk, username="staffer", is_staff=True)


def test_no_header_is_anonymous() -> None:
    assert principal_from_authorization(None) is None
    assert principal_from_authorization("  ") is None


@pytest.mark.parametrize(
    ("_case", "header", "message"),
    [
        ("wrong scheme", "Basic abc", "must be 'Bearer <token>' or 'JWT <token>'"),
        ("no token", "Bearer", "must be 'Bearer <token>' or 'JWT <token>'"),
        ("garbage", "Bearer not.a.token", "invalid token"),
        ("expired", f"Bearer {_sign(_claims(exp=datetime(2020, 1, 1, tzinfo=UTC)))}", "expired"),
        (
            "tampered",
            f"Bearer {_sign(_claims(), key='another-key-of-32-bytes-or-more!!')}",
            "invalid",
        ),
        ("refresh token", f"Bearer {_sign(_claims(token_type='refresh'))}", "not an access token"),
        (
            "no user",
            f"Bearer {_sign({k: v for k, v in _claims().items() if k != 'user_id'})}",
            "user_id",
        ),
    ],
)
def test_bad_tokens_are_unauthenticated(_case: str, header: str, message: str) -> None:
    with pytest.raises(PlatformError) as caught:
        principal_from_authorization(header)

    assert caught.value.code is ErrorCode.UNAUTHENTICATED
    assert message in caught.value.message


def test_a_verified_token_is_remembered_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlplatform import auth

    token = _sign(_claims(exp=datetime.now(UTC) + timedelta(seconds=60)))
    first = auth.principal_from_token(token)
    monkeypatch.setattr(auth, "_verify", lambda _token: pytest.fail("verified twice"))

    assert auth.principal_from_token(token) == first  # from the cache, no second verification

    monkeypatch.setattr(auth, "_now", lambda: datetime.now(UTC).timestamp() + 61)
    with pytest.raises(PlatformError, match="expired"):
        auth.principal_from_token(token)


def test_a_rejected_token_is_never_remembered() -> None:
    from mlplatform import auth

    tampered = _sign(_claims(), key="another key entirely, long enough for HS256 use")
    for _ in range(2):
        with pytest.raises(PlatformError, match="invalid token"):
            auth.principal_from_token(tampered)
    assert auth.verified_tokens.get(tampered) is None
