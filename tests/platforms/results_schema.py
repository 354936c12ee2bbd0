"""Gradescope's results.json specification as a JSON Schema (gradescope_results.schema.json)."""

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())


def validate_results(document: Any) -> None:
    """Raise jsonschema.ValidationError unless `document` is results.json as specified."""
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
