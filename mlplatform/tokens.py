"""Token issuance: simplejwt tokens with the claims every protocol's stateless check needs."""

from __future__ import annotations

from typing import Any

from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken


class PlatformTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Adds `username` and `is_staff`, so adapters authorise without loading the user."""

    @classmethod
    def get_token(cls, user: Any) -> RefreshToken:
        token = super().get_token(user)
        token["username"] = user.get_username()
        token["is_staff"] = bool(user.is_staff)
        return token  # type: ignore[return-value]


def access_token_for(user: Any) -> str:
    """An access token for `user`, as the token endpoint would issue (bootstrap, tests, tools)."""
    return str(PlatformTokenObtainPairSerializer.get_token(user).access_token)


def graphql_jwt_payload(user: Any, context: Any = None) -> dict[str, Any]:
    """django-graphql-jwt's payload, shaped like a simplejwt access token, so a token from
    GraphQL `tokenAuth` authenticates on REST and every other protocol too."""
    access = AccessToken.for_user(user)
    access["username"] = user.get_username()
    access["is_staff"] = bool(user.is_staff)
    payload = dict(access.payload)
    payload["origIat"] = int(payload["iat"])  # what graphql_jwt's refreshToken extends from
    return payload
