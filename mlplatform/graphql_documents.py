"""Parsed and validated GraphQL documents, remembered per query text (used by the /graphql/ view).

Clients send the same few query texts again and again; graphql-core parses and validates each one
from scratch, which py-spy showed as about a third of a createPrediction's CPU. Validation depends
only on the schema, the rules and the text (never on variables), so a valid document is reused.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

from graphql import DocumentNode, GraphQLSchema, parse, validate
from graphql.validation import ASTValidationRule

MAX_CACHED_QUERY_CHARS = 8192  # longer texts are parsed each time: the cache stays small
_CACHED_DOCUMENTS = 512


@lru_cache(maxsize=_CACHED_DOCUMENTS)
def valid_document(
    schema: GraphQLSchema, rules: Collection[type[ASTValidationRule]], query: str
) -> DocumentNode | None:
    """The document for `query` when it parses and passes `rules`; None otherwise (the caller
    then takes the uncached path, which reports the errors)."""
    try:
        document = parse(query)
    except Exception:  # a syntax error: graphene-django's own path words the answer
        return None
    if validate(schema, document, rules):
        return None
    return document


def cacheable(query: str | None) -> bool:
    return bool(query) and len(query or "") <= MAX_CACHED_QUERY_CHARS
