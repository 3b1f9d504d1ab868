"""Limits on what one operation may ask: depth, aliases, tokens, and an estimated cost.

Depth and aliases count fragments where they are spread (as strawberry's limiters do), but
every measure here walks each fragment once, so fragments that spread other fragments
twice over (a "fragment bomb") cost linear time to check, not exponential.

The cost is the number of objects and fields a query may produce: each field costs 1
for every parent it is resolved under. A connection multiplies what is under its
``edges``/``nodes`` by its page size (``first``/``last``, default 20); a list with a
``first`` argument by that; a field sized by its arguments (``lineage(maxNodes:)``,
``runMetrics(runIds:)``) multiplies the lists directly under it by that size; any other
list by :data:`LIST_FACTOR`. Variables are read for their values. An operation above
:data:`MAX_COST` is refused before anything runs, with the estimate in the message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from graphql.utilities import value_from_ast_untyped
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000
MAX_COST = 50_000
DEFAULT_PAGE = 20
MAX_PAGE = 100
LIST_FACTOR = 5
DEFAULT_LINEAGE_NODES = 500
# Arguments that size the lists directly under a field returning an object.
SIZE_ARGUMENTS = ("maxNodes", "runIds", "ids")


def _unwrap_non_null(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _is_list(type_: Any) -> bool:
    return isinstance(_unwrap_non_null(type_), GraphQLList)


def _is_connection(type_: GraphQLNamedType) -> bool:
    return type_.name.endswith("Connection")


class _Estimator:
    def __init__(self, context: ValidationContext, variables: dict[str, Any]) -> None:
        self.context = context
        self.schema = context.schema
        self.variables = variables
        self.fragment_stack: list[str] = []
        # cost of a fragment's selections at multiplier 1, by (name, page, hint): a cost
        # is linear in its multiplier, so each fragment is walked once
        self.fragment_costs: dict[tuple[str, int | None, int | None], int] = {}

    def argument(self, node: FieldNode, name: str) -> Any:
        for arg in node.arguments or ():
            if arg.name.value != name:
                continue
            value = arg.value
            if isinstance(value, VariableNode):
                return self.variables.get(value.name.value)
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, ListValueNode):
                return list(value.values)
            return value_from_ast_untyped(value, self.variables)
        return None

    def size(self, node: FieldNode, name: str, default: int, cap: int) -> int:
        value = self.argument(node, name)
        if isinstance(value, list):
            return max(1, min(len(value), cap))
        if isinstance(value, int) and not isinstance(value, bool):
            return max(0, min(value, cap))
        return default

    def selection_cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        multiplier: int,
        page: int | None = None,
        hint: int | None = None,
    ) -> int:
        if selection_set is None or parent is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent, multiplier, page, hint)
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                total += self.selection_cost(
                    selection.selection_set, condition, multiplier, page, hint
                )
            elif isinstance(selection, FragmentSpreadNode):
                total += multiplier * self.fragment_cost(selection.name.value, page, hint)
        return total

    def fragment_cost(self, name: str, page: int | None, hint: int | None) -> int:
        key = (name, page, hint)
        if key not in self.fragment_costs:
            fragment = self.context.get_fragment(name)
            if fragment is None or name in self.fragment_stack:
                return 0  # unknown or cyclic: other rules report it
            self.fragment_stack.append(name)
            condition = self.schema.get_type(fragment.type_condition.name.value)
            self.fragment_costs[key] = self.selection_cost(
                fragment.selection_set, condition, 1, page, hint
            )
            self.fragment_stack.pop()
        return self.fragment_costs[key]

    def field_cost(
        self,
        node: FieldNode,
        parent: GraphQLNamedType,
        multiplier: int,
        page: int | None,
        hint: int | None,
    ) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0  # introspection: GraphiQL's schema query is not a data query
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0  # unknown field: validation reports it
        cost = multiplier
        child = get_named_type(definition.type)
        factor = 1
        child_page: int | None = None
        child_hint: int | None = None
        if _is_connection(child):
            first = self.size(node, "first", -1, MAX_PAGE)
            last = self.size(node, "last", -1, MAX_PAGE)
            child_page = max(first, last) if max(first, last) >= 0 else DEFAULT_PAGE
        elif page is not None and name in ("edges", "nodes"):
            factor = page
        elif _is_list(definition.type):
            sized_by = [a for a in SIZE_ARGUMENTS if a in definition.args]
            if "first" in definition.args:
                factor = self.size(node, "first", DEFAULT_PAGE, MAX_PAGE)
            elif sized_by:
                factor = self.size(node, sized_by[0], LIST_FACTOR, 5000)
            elif hint is not None:
                factor = hint
            else:
                factor = LIST_FACTOR
        for argument in SIZE_ARGUMENTS:
            if argument in definition.args and not _is_list(definition.type):
                default = DEFAULT_LINEAGE_NODES if argument == "maxNodes" else LIST_FACTOR
                child_hint = self.size(node, argument, default, 5000)
        if node.selection_set is not None:
            cost += self.selection_cost(
                node.selection_set, child, multiplier * max(factor, 1), child_page, child_hint
            )
        return cost


def operation_cost(
    context: ValidationContext, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> int:
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    root = context.schema.get_root_type(operation.operation)
    return _Estimator(context, values).selection_cost(operation.selection_set, root, 1)


def cost_rule(variables: dict[str, Any], max_cost: int) -> type[ValidationRule]:
    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            cost = operation_cost(self.context, node, variables)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"query is too expensive: its estimated cost is {cost}, the limit is "
                        f"{max_cost}; ask for smaller pages (first/last), fewer nested lists "
                        "or fewer fields",
                        node,
                        extensions={"code": "QUERY_TOO_COMPLEX", "cost": cost, "maxCost": max_cost},
                    )
                )

    return CostLimit


class _Shape:
    """Depth (fields nested on the longest path, introspection left out) and alias count
    of selections, each fragment measured once."""

    def __init__(self, context: ValidationContext) -> None:
        self.context = context
        self.fragments: dict[str, tuple[int, int]] = {}
        self.fragment_stack: list[str] = []

    def of(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
        depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                below, below_aliases = self.of(selection.selection_set)
                aliases += below_aliases + (1 if selection.alias else 0)
                if not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                below, below_aliases = self.of(selection.selection_set)
                depth, aliases = max(depth, below), aliases + below_aliases
            elif isinstance(selection, FragmentSpreadNode):
                below, below_aliases = self.fragment(selection.name.value)
                depth, aliases = max(depth, below), aliases + below_aliases
        return depth, aliases

    def fragment(self, name: str) -> tuple[int, int]:
        if name not in self.fragments:
            fragment = self.context.get_fragment(name)
            if fragment is None or name in self.fragment_stack:
                return 0, 0  # unknown or cyclic: other rules report it
            self.fragment_stack.append(name)
            self.fragments[name] = self.of(fragment.selection_set)
            self.fragment_stack.pop()
        return self.fragments[name]


def shape_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """Refuse operations nesting fields more than ``max_depth`` levels below their root
    field, and documents with more than ``max_aliases`` aliases."""

    class ShapeLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            shape = _Shape(self.context)
            aliases = 0
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                depth, found = shape.of(definition.selection_set)
                aliases += found
                if depth - 1 > max_depth:
                    name = definition.name.value if definition.name else "anonymous"
                    self.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            definition,
                        )
                    )
            if aliases > max_aliases:
                self.report_error(GraphQLError(f"{aliases} aliases found. Allowed: {max_aliases}"))

    return ShapeLimit


class CostLimiter(SchemaExtension):
    """Refuse operations whose estimated cost (see the module) is above ``max_cost``."""

    def __init__(self, max_cost: int = MAX_COST) -> None:
        self.max_cost = max_cost

    def on_operation(self) -> Iterator[None]:
        variables = self.execution_context.variables or {}
        rule = cost_rule(dict(variables), self.max_cost)
        self.execution_context.validation_rules = (*self.execution_context.validation_rules, rule)
        yield


def extensions() -> list[Callable[[], SchemaExtension]]:
    """The limit extensions, as factories (one instance per operation)."""
    return [
        functools.partial(AddValidationRules, [shape_rule(MAX_DEPTH, MAX_ALIASES)]),
        functools.partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        CostLimiter,
    ]
