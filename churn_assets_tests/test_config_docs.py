"""docs/configuration.md says what the schema says: its tables are regenerated from the
pydantic fields (tools.config_docs) and must equal what the file holds, and every CHURN_*
variable the package reads is documented there (and none that it does not read)."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field

from churn_assets.dataset_config import PROJECT_ROOT, DatasetConfig
from churn_assets.model.sections import TuningConfig
from tools.config_docs import DOC, UndocumentedField, field_table, render, yaml_reference


def test_the_configuration_tables_match_the_schema() -> None:
    current = DOC.read_text()
    assert render(current) == current, "run `python -m tools.config_docs` and commit the result"


def test_a_changed_default_or_a_lost_row_is_caught() -> None:
    current = DOC.read_text()
    row = next(line for line in current.splitlines() if line.startswith("| `tuning.n_trials`"))
    default = f"`{TuningConfig().n_trials}`"
    assert default in row
    for damaged in (current.replace(row + "\n", ""),
                    current.replace(row, row.replace(default, "`1`"))):
        assert damaged != current
        assert render(damaged) == current


def test_every_key_of_the_schema_is_in_the_tables() -> None:
    tables = yaml_reference()
    for section in ("split", "tuning", "model", "promotion", "drift", "expectations",
                    "economics", "decision"):
        model = DatasetConfig.model_fields[section].annotation
        model = next((a for a in getattr(model, "__args__", (model,))
                      if isinstance(a, type) and issubclass(a, BaseModel)), model)
        for key in model.model_fields:
            assert f"| `{section}.{key}` |" in tables, f"{section}.{key}"


def test_a_field_without_a_description_is_refused() -> None:
    class Section(BaseModel):
        described: int = Field(1, description="Has one.")
        bare: int = 2

    with pytest.raises(UndocumentedField, match="Section.bare has no description"):
        field_table(Section, "section.")


def test_every_environment_variable_the_package_reads_is_documented() -> None:
    read = set()
    for module in (PROJECT_ROOT / "churn_assets").rglob("*.py"):
        read |= set(re.findall(r"[\"'](CHURN_[A-Z0-9_]+)[\"']", module.read_text()))
    documented = set(re.findall(r"`(CHURN_[A-Z0-9_]+)`", DOC.read_text()))
    assert read - documented == set(), "read by the package, missing from the docs"
    assert documented - read == set(), "documented, read nowhere"
