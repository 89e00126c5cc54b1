"""Every GraphQL document the adapter sends is valid for Shopify's Admin schema.

The pinned version (2025-01, official introspection from Shopify/dev-mcp) is authoritative.
2025-04 (converted from a third-party SDL copy) is checked too, because Shopify answers a
retired version as the oldest supported one, so the documents must survive that
fall-forward. The fake Shopify used by the other tests refuses any document not listed
here, which keeps this list complete.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from decimal import Decimal

import graphql
import pytest
from graphql.execution.values import get_variable_values
from shopify_kit import FIXTURES

from loyaltykit.adapters.shopify import documents
from loyaltykit.adapters.shopify.push import plan
from loyaltykit.commands import IssueDiscount, SetCustomerTags, UpdateCustomerProfile

AT = datetime(2024, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def schema_2025_04() -> graphql.GraphQLSchema:
    with gzip.open(FIXTURES / "admin_schema_2025-04.json.gz", "rt", encoding="utf-8") as f:
        return graphql.build_client_schema(json.load(f)["data"])


@pytest.mark.parametrize("name", sorted(documents.DOCUMENTS))
def test_document_is_valid_for_the_pinned_schema(schema: graphql.GraphQLSchema, name: str) -> None:
    errors = graphql.validate(schema, graphql.parse(documents.DOCUMENTS[name]))
    assert errors == []


@pytest.mark.parametrize("name", sorted(documents.DOCUMENTS))
def test_document_survives_the_next_version(schema_2025_04: graphql.GraphQLSchema,
                                            name: str) -> None:
    errors = graphql.validate(schema_2025_04, graphql.parse(documents.DOCUMENTS[name]))
    assert errors == []


def test_validation_catches_a_wrong_field(schema: graphql.GraphQLSchema) -> None:
    # The negative control: proves the check above can fail.
    broken = documents.CUSTOMERS_PAGE.replace("tags", "totalSpent")
    errors = graphql.validate(schema, graphql.parse(broken))
    assert any("totalSpent" in e.message for e in errors)


COMMANDS = [
    IssueDiscount(key="k1", customer_id="42", code="LK-ABCDEFGHIJ", value_type="percentage",
                  value=Decimal("15"), currency="USD", starts_at=AT, ends_at=AT, reason="tier"),
    IssueDiscount(key="k2", customer_id="42", code="LK-KLMNOPQRST", value_type="fixed_amount",
                  value=Decimal("5.00"), currency="USD", starts_at=AT, ends_at=None,
                  reason="referral"),
    SetCustomerTags(key="k3", customer_id="42", add=("tier-gold",), remove=("tier-silver",)),
    UpdateCustomerProfile(key="k4", customer_id="42", points_balance=1250, tier="gold",
                          segment="active", as_of=AT),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.key)
def test_push_variables_coerce_to_the_schema_inputs(schema: graphql.GraphQLSchema,
                                                    command: object) -> None:
    for operation in plan(command):  # type: ignore[arg-type]
        document = graphql.parse(operation.document)
        definition = document.definitions[0]
        assert isinstance(definition, graphql.OperationDefinitionNode)
        coerced = get_variable_values(schema, definition.variable_definitions,
                                      operation.variables)
        assert not isinstance(coerced, list), [e.message for e in coerced]


def test_coercion_catches_a_wrong_input_field(schema: graphql.GraphQLSchema) -> None:
    operation = plan(COMMANDS[0])[0]
    variables = {"discount": {**operation.variables["discount"], "customerSelect": {}}}
    definition = graphql.parse(operation.document).definitions[0]
    assert isinstance(definition, graphql.OperationDefinitionNode)
    coerced = get_variable_values(schema, definition.variable_definitions, variables)
    assert isinstance(coerced, list) and "customerSelect" in coerced[0].message
