"""The receipt JSON Schema, read from docs/receipt-json.md (its one ```json block), and a
validator for the receipts the tests write."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "receipt-json.md"


def receipt_schema() -> dict:
    blocks = re.findall(r"```json\n(.*?)\n```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, "docs/receipt-json.md must hold exactly one JSON Schema block"
    return json.loads(blocks[0])


def validate_receipt(receipt: dict) -> None:
    import jsonschema

    jsonschema.validate(receipt, receipt_schema(), format_checker=jsonschema.FormatChecker())
