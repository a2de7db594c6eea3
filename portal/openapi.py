"""The API's OpenAPI 3.1 document, served at ``/api/v1/openapi.json``.

Written here, beside the routes (portal/rest.py); the suite validates it with
openapi-spec-validator, checks that it describes exactly the routes the app serves under
``/api/v1``, and validates the answers the tests get against its schemas.
"""

from __future__ import annotations

import copy
from typing import Any

DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "an exact decimal, as text"}
MONTH = {"name": "month", "in": "query", "required": True, "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
         "description": "the month, YYYY-MM"}

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"},
            "problems": {"type": "array", "items": {"$ref": "#/components/schemas/RowProblem"}},
        },
    },
    "RowProblem": {
        "type": "object", "required": ["code"],
        "properties": {
            "code": {"type": "string", "description": "the stable problem code the command line prints"},
            "message": {"type": "string"}, "hint": {"type": ["string", "null"]},
            "record": {"type": ["integer", "null"], "description": "the record's index in the batch, from 0"},
            "field": {"type": ["string", "null"]}, "severity": {"type": "string"},
        },
    },
    "InvoiceLine": {
        "type": "object",
        "required": ["line_no", "kind", "service", "tier", "description", "quantity", "unit", "amount"],
        "properties": {"line_no": {"type": "integer"}, "kind": {"type": "string"}, "service": {"type": "string"},
                       "tier": {"type": "string"}, "description": {"type": "string"}, "quantity": DECIMAL,
                       "unit": {"type": "string"}, "amount": DECIMAL},
    },
    "Invoice": {
        "type": "object",
        "required": ["number", "kind", "month", "issue_date", "business_line", "currency", "total", "lines"],
        "properties": {
            "number": {"type": "string"}, "kind": {"enum": ["invoice", "credit_note", "debit_note"]},
            "month": {"type": "string"}, "issue_date": {"type": "string", "format": "date"},
            "business_line": {"type": "string"}, "buyer_name": {"type": "string"}, "currency": {"type": "string"},
            "total": DECIMAL, "original_invoice": {"type": ["string", "null"]}, "reason": {"type": ["string", "null"]},
            "lines": {"type": "array", "items": {"$ref": "#/components/schemas/InvoiceLine"}},
        },
    },
    "UsageBatch": {
        "type": "object", "required": ["records"],
        "properties": {"records": {"type": "array", "minItems": 1, "maxItems": 200000, "items": {
            "type": "object", "additionalProperties": {"type": ["string", "number", "null"]},
            "description": "one record of the source's fields (docs/feeds.md): record_id, usage_date, cost_center or "
                           "business_line, service, quantity, unit, optional tier, cost, description"}}},
    },
    "BatchResult": {
        "type": "object",
        "required": ["source", "feed_id", "already_loaded", "records", "loaded", "quarantined", "duplicates",
                     "conflicts", "excluded", "months", "problem_count", "problems", "reconciliation"],
        "properties": {
            "source": {"type": "string"}, "feed_id": {"type": ["integer", "null"]},
            "already_loaded": {"type": "boolean", "description": "the same records were loaded before: nothing twice"},
            "records": {"type": "integer"}, "loaded": {"type": "integer"}, "quarantined": {"type": "integer"},
            "duplicates": {"type": "integer"}, "conflicts": {"type": "integer"}, "excluded": {"type": "integer"},
            "months": {"type": "array", "items": {"type": "string"}},
            "rated_months": {"type": "array", "items": {"type": "string"}},
            "problem_count": {"type": "integer"},
            "problems": {"type": "array", "items": {"$ref": "#/components/schemas/RowProblem"}},
            "reconciliation": {"type": "string"},
        },
    },
    "Invoices": {
        "type": "object", "required": ["month", "invoices"],
        "properties": {"month": {"type": "string"},
                       "invoices": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}}},
    },
    "Charge": {
        "type": "object",
        "required": ["line_no", "kind", "business_line", "service", "tier", "amount", "currency"],
        "properties": {
            "line_no": {"type": "integer"}, "kind": {"type": "string"}, "business_line": {"type": "string"},
            "service": {"type": "string"}, "tier": {"type": "string"}, "tariff_version": {"type": "string"},
            "charging_mode": {"type": "string"}, "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"}, "quantity": DECIMAL, "billable": DECIMAL, "amount": DECIMAL,
            "currency": {"type": "string"}, "usage_rows": {"type": "integer"},
        },
    },
    "StatementLine": {
        "type": "object", "required": ["service", "service_name", "tier_name", "kind", "description", "quantity",
                                       "unit", "amount", "detail"],
        "properties": {"service": {"type": "string"}, "service_name": {"type": "string"},
                       "tier_name": {"type": "string"}, "kind": {"type": "string", "description": "usage, a fee, a service credit, an adjustment ..."},
                       "description": {"type": "string"}, "quantity": {"oneOf": [DECIMAL, {"type": "null"}]},
                       "unit": {"type": "string"}, "amount": DECIMAL,
                       "detail": {"type": "string", "description": "how the amount was priced, in one line"}},
    },
    "Statement": {
        "type": "object",
        "required": ["business_line", "name", "month", "draft", "invoice", "currency", "total", "previous_total",
                     "lines", "showback_lines", "showback_total"],
        "properties": {
            "business_line": {"type": "string"}, "name": {"type": "string"}, "month": {"type": "string"},
            "draft": {"type": "boolean", "description": "the month is open: the figures may change"},
            "invoice": {"type": ["string", "null"]}, "currency": {"type": "string"}, "total": DECIMAL,
            "previous_total": {"oneOf": [DECIMAL, {"type": "null"}]},
            "lines": {"type": "array", "items": {"$ref": "#/components/schemas/StatementLine"}},
            "showback_lines": {"type": "array", "items": {"$ref": "#/components/schemas/StatementLine"}},
            "showback_total": DECIMAL,
        },
    },
    "StatementSummary": {
        "type": "object",
        "required": ["business_line", "name", "month", "draft", "invoice", "currency", "total", "previous_total", "href"],
        "properties": {
            "business_line": {"type": "string"}, "name": {"type": "string"}, "month": {"type": "string"},
            "draft": {"type": "boolean", "description": "the month is open: the figures may change"},
            "invoice": {"type": ["string", "null"]}, "currency": {"type": "string"}, "total": DECIMAL,
            "previous_total": {"oneOf": [DECIMAL, {"type": "null"}]},
            "href": {"type": "string", "description": "the statement whole: GET /api/v1/statements/{line}?month="},
        },
    },
    "Statements": {
        "type": "object", "required": ["month", "statements"],
        "properties": {"month": {"type": "string"},
                       "statements": {"type": "array", "items": {"$ref": "#/components/schemas/StatementSummary"}}},
    },
    "Charges": {
        "type": "object", "required": ["month", "charges"],
        "properties": {"month": {"type": "string"},
                       "charges": {"type": "array", "items": {"$ref": "#/components/schemas/Charge"}}},
    },
}


def _problem(description: str) -> dict:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


REFUSED = {"401": _problem("no token, or one unknown or revoked"),
           "403": _problem("the token's scope, or the signed-in person's role, does not allow it")}
READERS = [{"bearer": []}, {"session": []}]
"""The routes a person's session reads too, besides a read-only token."""

PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                                     "responses": {"200": {"description": "the OpenAPI document"}}}},
    "/api/v1/sources/{source}/usage-batches": {"post": {
        "summary": "Send a batch of usage records for a declared source (its source token)",
        "description": "Validated, mapped, quarantined and reconciled exactly as a file of the source's. The same "
                       "Idempotency-Key and body again answer the first answer (header Idempotent-Replayed: true) and "
                       "charge nothing twice; the same key with another body is 409.",
        "parameters": [
            {"name": "source", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "Idempotency-Key", "in": "header", "required": True,
             "schema": {"type": "string", "maxLength": 200}},
        ],
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UsageBatch"}}}},
        "responses": {
            "201": _json("BatchResult", "the batch loaded as a new feed: its counts and the problems of its records"),
            "200": _json("BatchResult", "the same records were loaded before: nothing was loaded twice"),
            "400": _problem("not JSON, or no Idempotency-Key"),
            "409": _problem("the Idempotency-Key was used for another body, or the load is refused (a closed month)"),
            "413": _problem("too large: more than 32 MiB or 200,000 records"),
            "415": _problem("not application/json"),
            "422": _problem("records that are not objects of values, or a batch refused whole (no record_id field)"),
            **REFUSED}}},
    "/api/v1/invoices": {"get": {
        "summary": "The invoices, credit notes and debit notes dated in a month (read-only token)",
        "parameters": [MONTH],
        "responses": {"200": _json("Invoices", "the month's documents"), "400": _problem("no month, or not YYYY-MM"),
                      **REFUSED}}},
    "/api/v1/invoices/{number}": {"get": {
        "summary": "One document by its number (read-only token)",
        "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json("Invoice", "the document"), "404": _problem("no document with that number"),
                      **REFUSED}}},
    "/api/v1/statements": {"get": {
        "summary": "A month's statements, one a business line: total, invoice, the month before's total (read-only "
                   "token, or a signed-in person's session: finance and auditors every line, a head its own lines)",
        "description": "A head's session lists the lines it heads and nothing of any other line.",
        "security": READERS,
        "parameters": [MONTH],
        "responses": {"200": _json("Statements", "the month's statements (drafts while the month is open)"),
                      "400": _problem("no month, or not YYYY-MM"),
                      "409": _problem("the month has not been rated"), **REFUSED}}},
    "/api/v1/statements/{line}": {"get": {
        "summary": "A business line's statement of a month: its total and lines, as the statement shows them "
                   "(read-only token, or a signed-in person's session as for the list)",
        "security": READERS,
        "parameters": [{"name": "line", "in": "path", "required": True, "schema": {"type": "string"},
                        "description": "the business line's code"}, MONTH],
        "responses": {"200": _json("Statement", "the statement (a draft while the month is open)"),
                      "400": _problem("no month, or not YYYY-MM"),
                      "404": _problem("no statement: the line has no charges or notes that month, or there is no "
                                      "such line"),
                      "409": _problem("the month has not been rated"), **REFUSED}}},
    "/api/v1/charges": {"get": {
        "summary": "A month's charges as its latest run rated them (read-only token)",
        "parameters": [MONTH],
        "responses": {"200": _json("Charges", "the month's charges"), "400": _problem("no month, or not YYYY-MM"),
                      **REFUSED}}},
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "chargeback API", "version": "1",
                 "description": "Usage in, charges and invoices out. Amounts are exact decimals written as text. "
                                "Every refusal is an RFC 9457 problem body."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": copy.deepcopy(PATHS),
        "components": {"schemas": copy.deepcopy(SCHEMAS),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "an API token from `chargeback tokens add`"},
                                           "session": {"type": "apiKey", "in": "cookie", "name": "cb_session",
                                                       "description": "a person signed in to the portal (GET only)"}}},
    }
