"""The request validator the API stand-ins rely on: a stand-in is only as good as its checks."""

import pytest

from tests.standins.openapi import OpenApiSpec
from tests.standins.square import square_spec

SPEC = {
    "openapi": "3.0.0",
    "paths": {
        "/v1/things/{thing_id}": {
            "post": {
                "operationId": "UpdateThing",
                "parameters": [{"name": "thing_id", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^T[0-9]+$"}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 10}},
                               {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Thing"}}}},
            },
        },
        "/v1/things/special": {"get": {"operationId": "Special"}},
    },
    "components": {"schemas": {
        "Thing": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"},
            "id": {"type": "string", "readOnly": True},
            "price": {"$ref": "#/components/schemas/Money"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "Money": {"type": "object", "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"}}},
    }},
}


@pytest.fixture
def spec():
    return OpenApiSpec(SPEC)


def test_valid_request_passes(spec):
    body = {"name": "x", "price": {"amount": 5, "currency": "EUR"}, "labels": {"any": "thing"}}
    assert spec.validate_request("POST", "/v1/things/T1", query={"limit": "3", "tags": "a,b"}, body=body) == []


def test_unknown_nested_property_is_reported(spec):
    [problem] = spec.validate_request("POST", "/v1/things/T1", body={"name": "x", "price": {"amout": 5}})
    assert problem.startswith("body.price: unknown property 'amout'")


def test_wrong_type_missing_field_and_read_only(spec):
    problems = spec.validate_request("POST", "/v1/things/T1", body={"id": "T1", "price": {"amount": "5"}})
    assert any(p == "body: 'name' is a required property" for p in problems)
    assert any(p.startswith("body.price.amount: '5' is not of type 'integer'") for p in problems)
    assert any(p.startswith("body.id: is read-only") for p in problems)


def test_parameters_are_checked(spec):
    problems = spec.validate_request("POST", "/v1/things/X1", query={"limit": "99", "colour": "red"},
                                     body={"name": "x"})
    assert any(p.startswith("path parameter thing_id:") for p in problems)
    assert any(p.startswith("query parameter limit: 99 is greater than") for p in problems)
    assert "unknown query parameter 'colour'" in problems
    assert spec.validate_request("POST", "/v1/things/T1", query={"limit": "many"}, body={"name": "x"}) == [
        "query parameter limit: 'many' is not of type 'integer'"]


def test_routing(spec):
    assert spec.find("GET", "/v1/things/special").operation_id == "Special"
    assert spec.validate_request("GET", "/v1/nothing") == ["no operation matches GET /v1/nothing"]
    assert spec.validate_request("GET", "/v1/things/T1") == ["method GET not allowed on /v1/things/T1 (allowed: POST)"]
    assert spec.validate_request("POST", "/v1/things/T1") == ["UpdateThing needs a request body"]
    assert spec.validate_request("GET", "/v1/things/special", body={}) == ["Special takes no request body"]


def test_square_spec_catches_a_typo_in_an_order():
    square = square_spec()
    good = {"idempotency_key": "k", "order": {"location_id": "L", "line_items": [
        {"name": "Pizza", "quantity": "1", "base_price_money": {"amount": 900, "currency": "EUR"}}]}}
    assert square.validate_request("POST", "/v2/orders", body=good) == []
    good["order"]["line_items"][0]["base_price_money"]["currenc"] = "EUR"
    [problem] = square.validate_request("POST", "/v2/orders", body=good)
    assert "unknown property 'currenc'" in problem
