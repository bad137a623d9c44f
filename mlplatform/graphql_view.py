"""The /graphql/ endpoint: one token for all (Bearer or JWT prefix), GraphiQL for sessions,
depth and field-count limits, and the platform's error mapping."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from graphene.validation import depth_limit_validator
from graphene_django.views import GraphQLView
from graphql import GraphQLError, specified_rules

from mlplatform.auth import Principal, principal_for_user, principal_from_authorization
from mlplatform.errors import PlatformError, Unauthenticated
from mlplatform.graphql_errors import format_graphql_error
from mlplatform.graphql_limits import max_fields_rule


class PlatformGraphQLView(GraphQLView):
    """Authenticates each request once; resolvers read `info.context.principal`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("graphiql", True)
        # The given rules replace graphql-core's standard ones, so both are listed.
        kwargs.setdefault(
            "validation_rules",
            (
                *specified_rules,
                depth_limit_validator(settings.GRAPHQL_MAX_DEPTH),
                max_fields_rule(settings.GRAPHQL_MAX_FIELDS),
            ),
        )
        super().__init__(**kwargs)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        header = request.META.get("HTTP_AUTHORIZATION")
        request.principal_error = None  # type: ignore[attr-defined]
        principal: Principal | None = None
        try:
            principal = principal_from_authorization(header)
        except Unauthenticated as exc:
            request.principal_error = exc  # type: ignore[attr-defined]
        if header is None and request.user.is_authenticated:
            # A browser session (GraphiQL after logging in to the admin): CSRF applies.
            rejected = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
                request, self.dispatch, args, kwargs
            )
            if rejected is not None and request.method == "POST":
                return rejected
            principal = principal_for_user(request.user)
        request.principal = principal  # type: ignore[attr-defined]
        return super().dispatch(request, *args, **kwargs)

    @staticmethod
    def format_error(error: Any) -> dict[str, Any]:
        if isinstance(error, GraphQLError):
            return format_graphql_error(error)
        return GraphQLView.format_error(error)


def principal_of(info: Any) -> Principal | None:
    """The caller of a resolver; a bad token fails here, on the fields that need a caller."""
    request = info.context
    error: PlatformError | None = getattr(request, "principal_error", None)
    if error is not None:
        raise error
    return getattr(request, "principal", None)
