"""GraphQL's one error mapping: a PlatformError becomes a GraphQLError whose
`extensions.code` is the contract's code; anything else becomes `internal`, without internals."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from graphql_jwt.exceptions import JSONWebTokenError

from mlplatform.db_errors import DATABASE_OUTAGE, database_unavailable
from mlplatform.errors import InvalidInput, PlatformError

logger = logging.getLogger(__name__)


class PlatformErrorMiddleware:
    def resolve(self, next_: Any, root: Any, info: Any, **args: Any) -> Any:
        try:
            try:
                if args:
                    _refuse_nul_arguments(args)
                return next_(root, info, **args)
            except DATABASE_OUTAGE as exc:
                raise database_unavailable() from exc
        except PlatformError as exc:
            raise GraphQLError(
                exc.message, extensions={"code": str(exc.code), "details": exc.details}
            ) from exc
        except JSONWebTokenError as exc:  # tokenAuth/verifyToken/refreshToken failures
            raise GraphQLError(str(exc), extensions={"code": "unauthenticated"}) from exc


def _refuse_nul_arguments(args: dict[str, Any]) -> None:
    """PostgreSQL stores no NUL character: a string argument holding one (a username given to
    tokenAuth, a filter) is the caller's mistake, not a database error."""
    for name, value in args.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise InvalidInput(f"argument '{name}' contains a NUL character")


def format_graphql_error(error: GraphQLError) -> dict[str, Any]:
    """Errors as the GraphQL spec shapes them; unexpected ones are logged and masked."""
    original = error.original_error
    if original is not None and not isinstance(original, (GraphQLError, PlatformError)):
        logger.error("unexpected error in GraphQL resolver", exc_info=original)
        error = GraphQLError(
            "internal error",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "internal"},
        )
    formatted: dict[str, Any] = dict(error.formatted)
    if "code" not in formatted.get("extensions", {}):
        formatted.setdefault("extensions", {})["code"] = "invalid_input"
    return formatted
