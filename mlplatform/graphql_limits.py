"""A cost limit for GraphQL documents: the number of fields they select, aliases included.

Depth alone does not stop a wide query (a thousand aliases of `allModels`, each a database
query). Every selected field counts one; fragments count where they are spread; introspection
(`__schema`, `__type`, which GraphiQL and schema tools send) is free.
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, FragmentSpreadNode, GraphQLError, ValidationRule


def max_fields_rule(limit: int) -> type[ValidationRule]:
    class MaxFields(ValidationRule):
        def enter_document(self, node: Any, *_: Any) -> None:
            fragments = {
                d.name.value: d for d in node.definitions if d.kind == "fragment_definition"
            }
            for definition in node.definitions:
                if definition.kind != "operation_definition":
                    continue
                cost = _count(definition.selection_set, fragments, set())
                if cost > limit:
                    self.report_error(
                        GraphQLError(
                            f"the query selects {cost} fields; the limit is {limit} "
                            "(GRAPHQL_MAX_FIELDS)",
                            definition,
                        )
                    )

    return MaxFields


def _count(selection_set: Any, fragments: dict[str, Any], seen: set[str]) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue  # introspection (GraphiQL, schema tools) reads no data
            total += 1 + _count(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:  # cycles are another rule's business
                total += _count(fragments[name].selection_set, fragments, seen | {name})
        else:  # inline fragment
            total += _count(selection.selection_set, fragments, seen)
    return total
