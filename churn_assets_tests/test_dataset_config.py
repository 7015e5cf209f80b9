"""Unit tests for churn_assets.dataset_config: defaults, path resolution and strict validation."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest
import yaml

from churn_assets.dataset_config import (
    PROJECT_ROOT,
    ConfigError,
    DatasetConfig,
    load_dataset_config,
    parse_dataset_config,
)
from churn_assets.environment import DATASET_CONFIG_ENV, Settings

REQUIRED = ("source", "target", "positive_label", "model_name")  # id_column: optional


def minimal() -> dict:
    return {
        "source": "data/customers.csv",
        "target": "Churn",
        "positive_label": "Yes",
        "id_column": "customerID",
        "model_name": "churn-test",
    }


def write_yaml(path: Path, raw: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return path


# --- defaults ---------------------------------------------------------------------------------

def test_minimal_config_has_documented_defaults(tmp_path: Path) -> None:
    config = parse_dataset_config(minimal(), tmp_path)
    assert isinstance(config, DatasetConfig)
    assert (config.target, config.positive_label, config.id_column, config.model_name) == (
        "Churn", "Yes", "customerID", "churn-test")
    assert config.tuning.n_trials == 50
    assert config.promotion.min_delta == 0
    assert config.drift.drifted_share == 0.5
    assert config.drift.retrain_policy == "on_drift"
    assert config.split.valid_fraction == 0.15
    assert config.split.test_fraction == 0.15
    assert (config.categorical, config.numeric, config.drop) == ((), (), ())
    assert config.expectations.ranges == {}
    assert not config.source.startswith("s3://")


def test_sections_override_only_given_fields(tmp_path: Path) -> None:
    raw = minimal() | {"tuning": {"n_trials": 7}, "split": {"valid_fraction": 0.2},
                       "drop": ["notes"], "expectations": {"ranges": {"tenure": [0, None]}}}
    config = parse_dataset_config(raw, tmp_path)
    assert config.tuning.n_trials == 7
    assert config.tuning.max_estimators == 2000
    assert config.split.valid_fraction == 0.2
    assert config.split.test_fraction == 0.15
    assert config.drop == ("notes",)
    assert config.expectations.ranges == {"tenure": (0, None)}


def test_integer_positive_label_kept_as_int(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(minimal()).replace("positive_label: 'Yes'", "positive_label: 1"))
    config = load_dataset_config(path)
    assert config.positive_label == 1
    assert type(config.positive_label) is int


# --- paths ------------------------------------------------------------------------------------

def test_relative_paths_resolve_against_yaml_folder(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "configs"
    path = write_yaml(folder / "d.yaml", minimal() | {"landing": "../drop/"})
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    config = load_dataset_config(path)
    assert config.source == str((folder / "data" / "customers.csv").resolve())
    assert config.landing == str((tmp_path / "drop").resolve()) + "/"
    assert config.config_path == str(path.resolve())


def test_default_landing_resolves_against_yaml_folder(tmp_path: Path) -> None:
    config = load_dataset_config(write_yaml(tmp_path / "d.yaml", minimal()))
    assert config.landing == str((tmp_path / "data" / "landing").resolve()) + "/"


def test_s3_and_absolute_locations_kept_as_is(tmp_path: Path) -> None:
    raw = minimal() | {"source": "s3://bucket/raw/customers.csv", "landing": "s3://bucket/in/"}
    config = parse_dataset_config(raw, tmp_path)
    assert config.source == "s3://bucket/raw/customers.csv"
    assert config.landing == "s3://bucket/in/"
    assert config.source.startswith("s3://")
    absolute = str(tmp_path.parent / "elsewhere.csv")
    assert parse_dataset_config(minimal() | {"source": absolute}, tmp_path).source == absolute


# --- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("key", REQUIRED)
def test_missing_required_key_is_named(tmp_path: Path, key: str) -> None:
    raw = minimal()
    del raw[key]
    with pytest.raises(ConfigError, match=f"missing required key '{key}'"):
        parse_dataset_config(raw, tmp_path)


@pytest.mark.parametrize("key", REQUIRED)
def test_empty_required_key_counts_as_missing(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=f"'{key}'"):
        parse_dataset_config(minimal() | {key: ""}, tmp_path)


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'modle_name'"):
        parse_dataset_config(minimal() | {"modle_name": "typo"}, tmp_path)


def test_config_path_is_not_settable_from_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'config_path'"):
        parse_dataset_config(minimal() | {"config_path": "x"}, tmp_path)


def test_unknown_nested_key_is_named_with_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("'tuning.n_trial'")):
        parse_dataset_config(minimal() | {"tuning": {"n_trial": 3}}, tmp_path)


def test_section_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'promotion' must be a mapping"):
        parse_dataset_config(minimal() | {"promotion": 0.5}, tmp_path)


def test_column_lists_must_be_lists(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'categorical' must be a list"):
        parse_dataset_config(minimal() | {"categorical": "Contract"}, tmp_path)


def test_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        parse_dataset_config(["source", "target"], tmp_path)


def test_bad_retrain_policy_is_rejected(tmp_path: Path) -> None:
    assert parse_dataset_config(minimal() | {"drift": {"retrain_policy": "always"}},
                                tmp_path).drift.retrain_policy == "always"
    with pytest.raises(ConfigError, match="retrain_policy"):
        parse_dataset_config(minimal() | {"drift": {"retrain_policy": "sometimes"}}, tmp_path)


@pytest.mark.parametrize(
    "split",
    [
        {"valid_fraction": 0.0},
        {"test_fraction": -0.1},
        {"valid_fraction": 0.45, "test_fraction": 0.45},  # leaves exactly 10%: not enough
        {"valid_fraction": 0.6, "test_fraction": 0.5},
    ],
)
def test_bad_split_fractions_are_rejected(tmp_path: Path, split: dict) -> None:
    with pytest.raises(ConfigError, match="'split' fractions"):
        parse_dataset_config(minimal() | {"split": split}, tmp_path)


def test_wrong_value_kind_in_yaml_becomes_config_error(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "d.yaml",
                      minimal() | {"expectations": {"ranges": {"tenure": 5}}})
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_dataset_config(path)


# --- loading ----------------------------------------------------------------------------------

def dataset_resource(environ: dict[str, str]):
    """The dataset resource the definitions build for this environment."""
    from churn_assets.defs.deployment import resources

    return resources(Settings.from_environ(environ))["dataset"]


def test_env_var_selects_another_file(tmp_path: Path) -> None:
    other = write_yaml(tmp_path / "other.yaml", minimal() | {"model_name": "from-env"})
    assert dataset_resource({DATASET_CONFIG_ENV: str(other)}).load().model_name == "from-env"
    explicit = write_yaml(tmp_path / "explicit.yaml", minimal() | {"model_name": "explicit"})
    assert load_dataset_config(explicit).model_name == "explicit"  # an explicit path wins


def test_without_env_var_the_bundled_config_is_used() -> None:
    bundled = str((PROJECT_ROOT / "dataset.yaml").resolve())
    assert dataset_resource({}).load().config_path == bundled
    assert load_dataset_config().config_path == bundled


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_dataset_config(tmp_path / "nope.yaml")
    with pytest.raises(dg.Failure, match="gone.yaml"):
        dataset_resource({DATASET_CONFIG_ENV: str(tmp_path / "gone.yaml")}).load()


def test_empty_yaml_file_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(ConfigError):
        load_dataset_config(path)


def test_repository_default_config_loads() -> None:
    config = load_dataset_config(PROJECT_ROOT / "dataset.yaml")
    assert config.source == str((PROJECT_ROOT / "data" / "customers.csv").resolve())
    assert config.landing == str((PROJECT_ROOT / "data" / "landing").resolve()) + "/"
    assert config.positive_label == "Yes"
    assert config.expectations.value_sets["Churn"] == ("Yes", "No")


def test_repository_telco_example_loads() -> None:
    path = PROJECT_ROOT / "examples" / "telco.yaml"
    config = load_dataset_config(path)
    raw = yaml.safe_load(path.read_text())
    assert config.model_name == raw["model_name"]
    assert config.source == str((path.parent / raw["source"]).resolve())
    assert config.landing == str((path.parent / raw["landing"]).resolve()) + "/"
    assert config.expectations.ranges["tenure"] == (0, 72)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("tuning", "n_trials", "fifty"), ("tuning", "n_trials", True),
     ("promotion", "min_f1", "high"), ("drift", "retrain_policy", 3)],
)
def test_value_of_the_wrong_kind_is_named(tmp_path: Path, section: str, key: str, value) -> None:
    with pytest.raises(ConfigError, match=rf"'{section}\.{key}' must be of type"):
        parse_dataset_config(minimal() | {section: {key: value}}, tmp_path)


def test_yaml_boolean_positive_label_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bool.yaml"
    unquoted = yaml.safe_dump(minimal()).replace("positive_label: 'Yes'", "positive_label: Yes")
    assert "positive_label: Yes\n" in unquoted
    path.write_text(unquoted)
    with pytest.raises(ConfigError, match="positive_label"):
        load_dataset_config(path)
