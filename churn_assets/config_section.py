"""The base of every dataset-YAML section: strict, frozen, an unknown key refused.

Each section is owned by the layer it configures (``model.sections``: tuning, families,
economics, decision; ``dataset_sections``: the rest); ``dataset_config.DatasetConfig``
gathers them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
