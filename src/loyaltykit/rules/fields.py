"""Field types shared by the program format and the scenario-test format."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticKnownError

Amount = Annotated[Decimal, Field(ge=0, description="Money in the program currency, e.g. '50.00'")]


def _not_bool(value: object) -> object:
    """YAML 1.1 reads ``yes``, ``on`` and ``true`` as booleans and pydantic's lax integers take
    True as 1, so ``active_days: yes`` would silently mean one day: refuse it as a wrong type."""
    if isinstance(value, bool):
        raise PydanticKnownError("int_type")
    return value


# Last in each Annotated, so the bounds stay on the integer itself and in the JSON Schema.
WHOLE = BeforeValidator(_not_bool)
