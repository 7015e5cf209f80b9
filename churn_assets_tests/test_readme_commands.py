"""Every command in the bash blocks of the README and of docs/*.md is checked: make targets
exist, CLI and generator commands parse (the generator ones run, writing to a temporary
folder), and `dagster asset materialize --config-json` names real launchpad fields. The whole-graph
commands themselves run in the CLI and graph tests."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from churn_assets.cli.main import build_parser
from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets.defs.assets.monitoring import DriftThresholds
from churn_assets.defs.assets.registry import PromotionSettings
from churn_assets.defs.assets.training import TuningBudget
from churn_assets.generator import main as generator_main

README = PROJECT_ROOT / "README.md"
DOCUMENTS = (README, *sorted((PROJECT_ROOT / "docs").glob("*.md")))
LAUNCHPAD = {"tuned_churn_model": TuningBudget, "champion_model": PromotionSettings,
             "feature_drift": DriftThresholds}


def readme_commands(documents: tuple[Path, ...] = (README,)) -> list[str]:
    blocks = [block for document in documents
              for block in re.findall(r"```bash\n(.*?)```", document.read_text(), flags=re.S)]
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def without_environment(words: list[str]) -> list[str]:
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        words = words[1:]
    return words


def redirect_out(words: list[str], folder: Path) -> list[str]:
    if "--out" in words:
        at = words.index("--out") + 1
        words = [*words[:at], str(folder / Path(words[at]).name), *words[at + 1:]]
    return words


def assert_launchpad_fields(args: list[str], command: str) -> None:
    if "--config-json" in args:
        ops = json.loads(args[args.index("--config-json") + 1])["ops"]
        for op, settings in ops.items():
            assert set(settings["config"]) <= set(LAUNCHPAD[op].model_fields), command


@pytest.mark.parametrize("command", sorted(set(readme_commands(DOCUMENTS))))
def test_readme_command_is_real(command: str, tmp_path: Path) -> None:
    words = without_environment(shlex.split(command))
    program, args = words[0], words[1:]
    if program == "make":
        makefile = (PROJECT_ROOT / "Makefile").read_text()
        assert re.search(rf"^{re.escape(args[0])}:", makefile, flags=re.M), command
    elif program.endswith("python") and args[:2] == ["-m", "churn_assets"]:
        build_parser().parse_args(redirect_out(args[2:], tmp_path))  # exits on a bad option
    elif program.endswith("python") and args[:2] == ["-m", "churn_assets.generator"]:
        generator_main(redirect_out(args[2:], tmp_path))
        assert any(tmp_path.iterdir()), command
    elif program.endswith("dagster") and args[:2] == ["asset", "materialize"]:
        assert args[args.index("-m") + 1] == "churn_assets"
        assert_launchpad_fields(args, command)
    elif program.endswith("dg") and args[:1] == ["launch"]:
        assert args[args.index("--assets") + 1] == "*"
        assert_launchpad_fields(args, command)
    elif program.endswith(("dg", "dagster")) and args in (["dev"], ["check", "defs"]):
        pass  # run bare in a clean clone by test_bare_commands
    else:
        pytest.fail(f"the README runs a command this test does not check: {command}")


def test_the_readme_has_commands_to_check() -> None:
    commands = readme_commands()
    assert any(c.startswith("make train") for c in commands)
    assert any(c.startswith("make test") for c in commands)


def test_the_readme_names_every_asset_job_sensor_and_schedule() -> None:
    """The README's graph, tables and lists stay whole as the definitions grow."""
    from churn_assets.definitions import defs

    definitions = defs()
    repository = definitions.get_repository_def()
    names = {key.to_user_string() for key in definitions.resolve_all_asset_keys()}
    names |= {job.name for job in repository.get_all_jobs() if not job.name.startswith("__")}
    names |= {sensor.name for sensor in repository.sensor_defs}
    names |= {schedule.name for schedule in repository.schedule_defs}
    text = README.read_text()
    assert sorted(name for name in names if f"`{name}`" not in text and
                  f" {name}\n" not in text) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_points_to_a_file(document: Path) -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", document.read_text())
    local = [link.split("#", 1)[0] for link in links if "://" not in link and
             not link.startswith(("#", "mailto:"))]
    assert [link for link in local if not (document.parent / link).exists()] == []
