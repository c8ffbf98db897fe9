"""Currency tool server (``currency``): converts amounts with rates from its own DynamoDB table.

Table ``RATES_TABLE``: one item per currency, ``pk`` = ISO 4217 code, ``sk`` = ``"RATE"``, ``per_usd`` =
units of that currency per 1 USD (a decimal string), ``updated_at`` = ISO-8601 UTC. Money is
``decimal.Decimal`` throughout and travels as decimal strings, never floats.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Final

import boto3
from pydantic import BaseModel, Field

from mcp_steward.sdk import ResourceNotFoundError, ToolContext, ToolError, ToolServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import KeysAndAttributesUnionTypeDef, ScanInputTypeDef

RATE_SK: Final = "RATE"
#: ISO 4217 minor units where they differ from 2.
_MINOR_UNITS: Final = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3}
_RATE_PLACES: Final = Decimal("1e-8")

CurrencyCode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, three upper-case letters.", examples=["EUR"]),
]
Amount = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,15}(\.[0-9]{1,8})?$",
        description="A non-negative decimal amount as a string (up to 15 digits, 8 decimal places).",
        examples=["100.00"],
    ),
]


class Conversion(BaseModel):
    """The result of a conversion; amounts and rates are decimal strings."""

    amount: str = Field(description="The amount converted, as given.")
    from_currency: str
    to_currency: str
    converted_amount: str = Field(description="Rounded half-even to the target currency's minor units.")
    rate: str = Field(description="Units of to_currency per 1 from_currency, 8 decimal places.")
    rates_as_of: str = Field(description="The older of the two rates' update times (ISO-8601 UTC).")


class CurrencyRate(BaseModel):
    """One currency the server knows."""

    code: str
    per_usd: str = Field(description="Units of this currency per 1 USD.")
    updated_at: str


def build_server(dynamodb: DynamoDBClient, table_name: str) -> ToolServer:
    """The currency tool server over ``table_name`` (the composition root passes the client in)."""
    server = ToolServer(name="currency", version="1.0.0")

    def load_rates(codes: set[str]) -> dict[str, tuple[Decimal, str]]:
        keys = [{"pk": {"S": code}, "sk": {"S": RATE_SK}} for code in sorted(codes)]
        request: Mapping[str, KeysAndAttributesUnionTypeDef] = {table_name: {"Keys": keys}}
        items = []
        for _ in range(3):  # unprocessed keys are rare (throttling); a few retries then give up
            response = dynamodb.batch_get_item(RequestItems=request)
            items.extend(response.get("Responses", {}).get(table_name, []))
            unprocessed = response.get("UnprocessedKeys") or {}
            if not unprocessed:
                break
            request = unprocessed
        else:
            raise ToolError("exchange rates are temporarily unavailable")
        rates = {}
        for item in items:
            try:
                rates[item["pk"]["S"]] = (Decimal(item["per_usd"]["S"]), item["updated_at"]["S"])
            except (KeyError, InvalidOperation):
                continue  # a malformed rate is treated as unknown rather than trusted
        return rates

    @server.tool(title="Convert currency", annotations={"readOnlyHint": True, "openWorldHint": False})
    def convert(ctx: ToolContext, amount: Amount, from_currency: CurrencyCode, to_currency: CurrencyCode) -> Conversion:
        """Convert an amount of money from one currency to another at the latest stored exchange rates."""
        value = Decimal(amount)
        rates = load_rates({from_currency, to_currency})
        for code in (from_currency, to_currency):
            if code not in rates or rates[code][0] <= 0:
                raise ToolError(f"unknown currency: {code}")
        (from_per_usd, from_at), (to_per_usd, to_at) = rates[from_currency], rates[to_currency]
        rate = to_per_usd / from_per_usd
        places = Decimal(1).scaleb(-_MINOR_UNITS.get(to_currency, 2))
        converted = (value * rate).quantize(places, rounding=ROUND_HALF_EVEN)
        ctx.report_units(1)
        return Conversion(
            amount=amount,
            from_currency=from_currency,
            to_currency=to_currency,
            converted_amount=str(converted),
            rate=str(rate.quantize(_RATE_PLACES, rounding=ROUND_HALF_EVEN)),
            rates_as_of=min(from_at, to_at),
        )

    @server.tool(title="List currencies", annotations={"readOnlyHint": True, "openWorldHint": False})
    def list_currencies() -> list[CurrencyRate]:
        """List the currencies the converter knows, with their rate per US dollar."""
        found: list[CurrencyRate] = []
        params: ScanInputTypeDef = {
            "TableName": table_name,
            "FilterExpression": "sk = :rate",
            "ExpressionAttributeValues": {":rate": {"S": RATE_SK}},
        }
        while True:
            page = dynamodb.scan(**params)
            found.extend(
                CurrencyRate(code=i["pk"]["S"], per_usd=i["per_usd"]["S"], updated_at=i["updated_at"]["S"])
                for i in page.get("Items", [])
            )
            if "LastEvaluatedKey" not in page:
                return sorted(found, key=lambda rate: rate.code)
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @server.resource("currency://currencies", title="Supported currencies", mime_type="text/plain", name="currencies")
    def currencies() -> str:
        """The ISO 4217 codes the converter knows, one per line."""
        return "\n".join(rate.code for rate in list_currencies()) + "\n"

    @server.resource_template(
        "currency://rates/{code}", name="rate", title="Rate per US dollar", mime_type="application/json"
    )
    def rate_of(code: str) -> str:
        """One currency's rate per US dollar and when it was updated, as JSON."""
        if not _CODE.fullmatch(code):
            raise ResourceNotFoundError
        rates = load_rates({code})
        if code not in rates:
            raise ResourceNotFoundError
        per_usd, updated_at = rates[code]
        return json.dumps({"code": code, "per_usd": str(per_usd), "updated_at": updated_at})

    @server.prompt(title="Ask for a conversion")
    def convert_request(
        amount: Annotated[str, "The amount, a decimal string."],
        from_currency: Annotated[str, "The ISO 4217 code to convert from."],
        to_currency: Annotated[str, "The ISO 4217 code to convert to."] = "USD",
    ) -> str:
        """A request to convert an amount, worded for the model."""
        return f"Convert {amount} {from_currency} to {to_currency} with the currency tools, and show the rate used."

    @server.completion(prompt="convert_request", argument="from_currency")
    def complete_code(value: str, context: Mapping[str, str]) -> list[str]:
        prefix = value.upper()
        return [rate.code for rate in list_currencies() if rate.code.startswith(prefix)]

    return server


_CODE: Final = re.compile(r"[A-Z]{3}")

# Cold start: one client and the compiled schemas per sandbox; a missing setting fails the init, not a call.
server = build_server(boto3.client("dynamodb"), os.environ["RATES_TABLE"])
handler = server.handler
