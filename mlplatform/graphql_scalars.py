"""The JSONString scalar of our schema: bad JSON arrives as a marker the resolver turns into
`invalid_input`, instead of a GraphQL parse error without the contract's code."""

from __future__ import annotations

import json
from typing import Any

import graphene
from graphql.language import ast

from mlplatform.errors import InvalidInput


class InvalidJSON:
    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason


class JSONString(graphene.Scalar):
    """A JSON value sent and returned as a string."""

    @staticmethod
    def serialize(value: Any) -> str:
        return json.dumps(value)

    @staticmethod
    def parse_literal(node: Any, _variables: Any = None) -> Any:
        if isinstance(node, ast.StringValueNode):
            return JSONString.parse_value(node.value)
        return InvalidJSON(str(node), "expected a string holding JSON")

    @staticmethod
    def parse_value(value: Any) -> Any:
        if not isinstance(value, str):
            return InvalidJSON(repr(value), "expected a string holding JSON")
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            return InvalidJSON(value, str(exc))


def json_argument(value: Any, name: str) -> Any:
    """The parsed value of a JSONString argument, or InvalidInput naming the argument."""
    if isinstance(value, InvalidJSON):
        raise InvalidInput(f"{name} is not valid JSON: {value.reason}")
    return value
