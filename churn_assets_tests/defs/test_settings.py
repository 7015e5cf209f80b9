"""A setting declared once: launchpad configs derived from the YAML schema, merged back."""

from __future__ import annotations

import dagster as dg
import pytest
from pydantic import BaseModel, ConfigDict, Field

from churn_assets.dataset_config import ConfigError
from churn_assets.defs.settings import effective, launchpad_config, launchpad_fields


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(3, ge=1, description="How many.")
    names: tuple[str, ...] = Field(("a",), description="Which ones.")
    plain: float = 0.5


class Other(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: str = "low"


Launchpad = launchpad_config("Launchpad", launchpad_fields(Section, "section"),
                             launchpad_fields(Other, "other"), doc="Test settings.")


def test_every_field_is_optional_described_and_typed_for_dagster() -> None:
    fields = Launchpad.model_fields
    assert set(fields) == {"count", "names", "plain", "level"}
    assert all(field.default is None for field in fields.values())
    assert fields["count"].description == "How many (YAML section.count, 3)"
    assert fields["plain"].description == "(YAML section.plain, 0.5)"
    assert issubclass(Launchpad, dg.Config) and Launchpad.__doc__ == "Test settings."
    # Dagster builds its config schema from the class (a YAML tuple is a list to it).
    schema = Launchpad.to_config_schema().as_field().config_type
    assert set(schema.fields) == {"count", "names", "plain", "level"}


def test_given_values_override_the_yaml_section_and_its_checks_still_apply() -> None:
    merged = effective(Section(count=5), Launchpad(names=["b", "c"], level="high"), "section")
    assert merged == Section(count=5, names=("b", "c"))  # level belongs to the other section
    assert effective(Other(), Launchpad(level="high"), "other") == Other(level="high")
    with pytest.raises(ConfigError, match="launchpad config for 'section'"):
        effective(Section(), Launchpad(count=0), "section")  # ge=1 lives in the schema only


def test_a_field_declared_in_two_sections_is_an_error() -> None:
    with pytest.raises(ValueError, match="field 'count' declared twice"):
        launchpad_config("Twice", launchpad_fields(Section, "a"), launchpad_fields(Section, "b"),
                         doc="x")
