"""The /graphql/ endpoint: one token for all (Bearer or JWT prefix), GraphiQL for sessions,
depth and field-count limits, and the platform's error mapping."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from graphene.validation import depth_limit_validator
from graphene_django.settings import graphene_settings
from graphene_django.views import GraphQLView
from graphql import ExecutionResult, GraphQLError, OperationType, execute, specified_rules
from graphql.utilities import get_operation_ast

from mlplatform.auth import Principal, principal_for_user, principal_from_authorization
from mlplatform.errors import PlatformError, Unauthenticated
from mlplatform.graphql_documents import cacheable, valid_document
from mlplatform.graphql_errors import format_graphql_error
from mlplatform.graphql_limits import max_fields_rule


def _atomic_mutations() -> bool:
    """graphene-django's two switches for wrapping mutations in a transaction."""
    return bool(
        graphene_settings.ATOMIC_MUTATIONS is True
        or connection.settings_dict.get("ATOMIC_MUTATIONS", False) is True
    )


@cache
def validation_rules() -> tuple[Any, ...]:
    """One tuple for the process (documents are cached by it). The given rules replace
    graphql-core's standard ones, so both are listed."""
    return (
        *specified_rules,
        depth_limit_validator(settings.GRAPHQL_MAX_DEPTH),
        max_fields_rule(settings.GRAPHQL_MAX_FIELDS),
    )


# graphene-django's dispatch is wrapped in ensure_csrf_cookie, for GraphiQL in a browser: every
# response then mints a masked CSRF token (32 random characters, one os.urandom call each; 64
# for a client without the cookie) and sets a cookie. A client that sends a token in its
# Authorization header has no use for it.
_dispatch_without_csrf_cookie = GraphQLView.dispatch.__wrapped__


class PlatformGraphQLView(GraphQLView):
    """Authenticates each request once; resolvers read `info.context.principal`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("graphiql", True)
        kwargs.setdefault("validation_rules", validation_rules())
        super().__init__(**kwargs)

    def execute_graphql_request(
        self,
        request: HttpRequest,
        data: Any,
        query: str | None,
        variables: Any,
        operation_name: str | None,
        show_graphiql: bool = False,
    ) -> Any:
        """Execute a remembered valid document; anything else (a new, invalid or long text, a
        GET of a mutation, atomic mutations) takes graphene-django's own path."""
        schema = self.schema.graphql_schema
        document = (
            valid_document(schema, self.validation_rules, query or "") if cacheable(query) else None
        )
        operation = get_operation_ast(document, operation_name) if document else None
        if (
            document is None
            or operation is None
            or (request.method != "POST" and operation.operation != OperationType.QUERY)
            or (operation.operation == OperationType.MUTATION and _atomic_mutations())
        ):
            return super().execute_graphql_request(
                request, data, query, variables, operation_name, show_graphiql
            )
        try:
            return execute(
                schema,
                document,
                root_value=self.get_root_value(request),
                context_value=self.get_context(request),
                variable_values=variables,
                operation_name=operation_name,
                middleware=self.get_middleware(request),
                execution_context_class=self.execution_context_class,
            )
        except Exception as exc:  # as graphene-django does: the error goes into the response
            return ExecutionResult(errors=[exc])  # type: ignore[list-item]

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
        if header is not None:
            return _dispatch_without_csrf_cookie(self, request, *args, **kwargs)
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
