"""The base of every section of the group model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


# Unknown keys are errors (a typo must not pass silently) and a loaded model is never changed in place.
class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
