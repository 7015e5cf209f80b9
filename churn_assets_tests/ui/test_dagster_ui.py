"""The Dagster and MLflow UIs, used in a real browser the way a person uses them.

`dagster dev` and `mlflow ui` run as subprocesses against a temporary Dagster home, MLflow
store and small generated dataset; Debian's Chromium (driven by Playwright) opens the asset
lineage and catalog, clicks "Materialize all", reads the champion's decision from its
metadata and opens its evaluation pictures and model card, checks the sensors and the
schedule are running; then a second version becomes champion (the CLI, as a scheduled
retrain would), the person rolls it back from the rollback job's launchpad, and MLflow
shows @champion back on version 1 with who asked and why. A second test puts a candidate
on trial (@challenger) with two CLI runs, lands a labeled snapshot for the running sensor,
and reads the trial's decision, `looks` table and evidence picture on challenger_trial's
page. Screenshots go to .ui-screenshots/ (a failing step leaves its page text there too);
four of them are the README's pictures in docs/images/.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from churn_assets.names import CHALLENGER
from churn_assets_tests.helpers.workspace import customers
from churn_assets_tests.ui.browser import (
    CHROMIUM,
    README_IMAGE_LIMIT,
    Steps,
    chromium_page,
    dismiss_community_dialog,
    readme_images_folder,
    save_readme_image,
)
from churn_assets_tests.ui.servers import (
    MODEL_NAME,
    UiProject,
    first_run_of,
    make_project,
    running_dagster_dev,
    running_mlflow_ui,
    wait_for_run,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (make test "
                       "installs Debian's chromium package with apt)"),
]

SENSORS_AND_SCHEDULES = ("new_customer_data_sensor", "drift_retraining_sensor",
                         "weekly_retraining_schedule")
ROLLBACK_JOB = "rollback_champion_job"
RUN_SECONDS = 1800  # an upper bound for a small graph on a busy machine, not a target
ROLLBACK = {"requested_by": "ui-test on-call", "reason": "INC-42: v2 flags loyal customers"}
# A challenger on trial, as in churn_assets_tests/defs/test_challenger_trial.py: the champion
# is trained without its strongest column; the candidate with it is better, but 5 % of 3,000
# rows under a strict immediate rule cannot show it, so it goes on trial.
TRIAL_ROWS = 3000
HANDICAP = ["Contract"]
SMALL_TEST_SPLIT = {"valid_fraction": 0.15, "test_fraction": 0.05}
STRICT = {"level": 0.995}
INTAKE_JOB = "snapshot_intake_job"
GRAPH_WINDOW = {"width": 2000, "height": 1100}
SENSOR_SECONDS = 300  # the landing sensor ticks every 30 s; the daemon may be slow to start


def graph_contents() -> tuple[dict[str, str], set[str]]:
    """Every asset's name with its group, and the job names, from the code itself."""
    from churn_assets.definitions import defs

    definitions = defs()
    groups = {key.to_user_string(): group for assets in definitions.assets
              for key, group in assets.group_names_by_key.items()}
    return groups, {job.name for job in definitions.jobs}


def shown_in_graph(name: str, labels: set[str]) -> bool:
    # The graph shortens long names in the middle: "validat…_customers".
    for label in labels:
        head, ellipsis, tail = label.partition("…")
        if label == name or (ellipsis and name.startswith(head) and name.endswith(tail)
                             and len(head) + len(tail) < len(name)):
            return True
    return False


def missing_from_lineage(page, asset_groups: dict[str, str], tries: int = 30) -> list[str]:
    """What the lineage graph does not show with its groups expanded. The graph lays out in
    steps (slower on a busy machine) and its "Expand all groups" key (Alt+E) is a toggle that
    collapses all when any group is open, so look, press, and look again."""
    missing: list[str] = []
    for _ in range(tries):
        page.wait_for_timeout(2000)
        lines = {line.strip() for line in page.inner_text("body").splitlines()}
        missing = [g for g in set(asset_groups.values()) if g not in lines]
        missing += [a for a in asset_groups if not shown_in_graph(a, lines)]
        if not missing:
            break
        page.keyboard.press("Alt+e")
    return missing


def metadata_row(page, key: str):
    # By its key cell: a value may equal another key ("decision" holds "promoted").
    return page.locator("tr").filter(
        has=page.locator("td:first-child").get_by_text(key, exact=True)).first


def metadata_value(page, key: str) -> str:
    return metadata_row(page, key).locator("td").last.inner_text().strip()


def graph_clip(page, names: set[str], margin: int = 30) -> dict:
    """The drawn graph only: the box around its group titles and asset names (a name the
    graph shortens is not found, and the group frames around it still count)."""
    boxes = [box for name in names
             for box in [page.get_by_text(name, exact=True).last.bounding_box()
                         if page.get_by_text(name, exact=True).count() else None] if box]
    left = min(b["x"] for b in boxes) - margin
    top = min(b["y"] for b in boxes) - margin
    right = max(b["x"] + b["width"] for b in boxes) + 4 * margin  # a title is narrower
    bottom = max(b["y"] for b in boxes) + 5 * margin  # than its frame, which runs below it
    size = page.viewport_size
    left, top = max(left, 0), max(top, 0)
    return {"x": left, "y": top, "width": min(right, size["width"]) - left,
            "height": min(bottom, size["height"]) - top}


def section_clip(page, heading: str, width: int = 780) -> dict:
    """From a section's heading (scrolled to the top) to the bottom of the window."""
    title = page.get_by_text(heading, exact=True).first
    title.evaluate("element => element.scrollIntoView({block: 'start'})")
    box = title.bounding_box()
    x, y = max(box["x"] - 40, 0), max(box["y"] - 10, 0)
    return {"x": x, "y": y, "width": width, "height": page.viewport_size["height"] - y}


def launched_run_id(page) -> str:
    # The "Launched run …" toast links to the run page.
    link = page.locator("a[href*='/runs/']").filter(has_text="View").first
    link.wait_for()
    return link.get_attribute("href").rsplit("/runs/", 1)[1].split("?")[0]


def switch_is_on(page, name: str) -> bool:
    """The automation's on/off switch: the checkbox at the right end of its row (the
    switches render once the instance state has loaded, after the names)."""
    width = page.viewport_size["width"]
    for _ in range(60):
        label = page.get_by_text(name, exact=True).first.bounding_box()
        for box in page.get_by_role("checkbox").all():
            where = box.bounding_box()
            if where and where["x"] > width / 2 and abs(where["y"] - label["y"]) < 40:
                return box.is_checked()
        page.wait_for_timeout(500)
    raise AssertionError(f"no on/off switch next to {name}")


def test_a_person_trains_and_inspects_the_model_in_both_uis(tmp_path: Path) -> None:
    asset_groups, jobs = graph_contents()
    project = make_project(tmp_path, promotion={"min_f1": 0.3, "min_roc_auc": 0.6})
    readme_folder = readme_images_folder(tmp_path / "readme-images")
    with running_dagster_dev(project) as dagster, chromium_page() as page:
        steps = Steps(page)

        with steps("asset-lineage"):
            # Room for the whole graph, monitoring group included: the picture is clipped
            # to the window, and the graph is fitted to it when it loads.
            page.set_viewport_size(GRAPH_WINDOW)
            page.goto(f"{dagster}/asset-groups")
            if dismiss_community_dialog(page):
                steps.note("dismissed the 'Join the Dagster community' dialog")
            page.get_by_role("button", name="Materialize all").wait_for()
            missing = missing_from_lineage(page, asset_groups)
            assert not missing, f"not shown in the lineage graph: {missing}"
            steps.note(f"lineage shows {len(asset_groups)} assets in "
                       f"{len(set(asset_groups.values()))} groups")
            save_readme_image(page, "asset_graph.png", readme_folder,
                              clip=graph_clip(page, {*asset_groups, *asset_groups.values()}))

        with steps("asset-catalog"):
            page.set_viewport_size({"width": 1400, "height": 2400})  # the list is virtual
            page.goto(f"{dagster}/assets")
            page.get_by_text("champion_model", exact=True).first.wait_for()
            lines = {line.strip() for line in page.inner_text("body").splitlines()}
            missing = [name for name in {*asset_groups, *asset_groups.values()}
                       if name not in lines]
            page.set_viewport_size({"width": 1400, "height": 900})
            assert not missing, f"not listed in the asset catalog: {missing}"

        with steps("materialize-all"):
            page.goto(f"{dagster}/asset-groups")
            page.get_by_role("button", name="Materialize all").click()
            run_id = launched_run_id(page)
            steps.note(f"launched run {run_id}")
            status = wait_for_run(dagster, run_id, RUN_SECONDS)
            page.goto(f"{dagster}/runs/{run_id}")
            page.get_by_text("Success").first.wait_for()
            assert status == "SUCCESS", f"run {run_id} ended {status}"

        with steps("champion-metadata"):
            page.goto(f"{dagster}/assets/champion_model")
            page.get_by_text("candidate_test_f1", exact=True).first.wait_for()
            promoted, reason = metadata_value(page, "promoted"), metadata_value(page, "reason")
            test_f1 = float(metadata_value(page, "candidate_test_f1"))
            steps.note(f"champion_model: promoted={promoted}, test F1={test_f1}, "
                       f"reason: {reason}")
            assert promoted == "true" and reason.startswith("promoted")
            assert 0.3 <= test_f1 <= 1
            dialog = open_markdown(page, "evaluation")
            dialog.locator("img").first.wait_for()
            pictures = [image for image in dialog.locator("img").all()
                        if image.evaluate("i => i.complete && i.naturalWidth > 0")]
            assert pictures, "the evaluation pictures are not rendered"
            steps.note(f"champion_model evaluation: {len(pictures)} picture(s) rendered")
            page.screenshot(path=str(steps.folder / "champion-evaluation-pictures.png"))
            close_dialog(page)
            dialog = open_markdown(page, "model_card")
            dialog.get_by_text(f"Model card: {MODEL_NAME} v1").wait_for()
            card = dialog.inner_text()
            assert "promoted: first model" in card, card[:2000]
            steps.note(f"champion_model model card shown ({len(card.splitlines())} lines)")
            close_dialog(page)
            save_readme_image(page, "champion_metadata.png", readme_folder,
                              clip=section_clip(page, "Metadata"))

        with steps("automation"):
            page.goto(f"{dagster}/automation")
            for name in SENSORS_AND_SCHEDULES:
                page.get_by_text(name, exact=True).first.wait_for()
                assert switch_is_on(page, name), f"{name} is listed but not running"
            steps.note(f"running: {', '.join(SENSORS_AND_SCHEDULES)}")

        with steps("second-champion"):
            promote_a_second_version(project)
            versions = champion_versions(project)
            steps.note(f"CLI retrain: @champion v{versions[0]}, @previous_champion "
                       f"v{versions[1]}")
            assert versions == ("2", "1"), versions

        with steps("rollback-job"):
            assert ROLLBACK_JOB in jobs, f"no {ROLLBACK_JOB} in the definitions"
            launch_from_launchpad(page, dagster, ROLLBACK_JOB, ROLLBACK, steps)

    client = mlflow_client(project)
    versions = champion_versions(project)
    assert versions == ("1", "2"), f"after the rollback @champion/@previous_champion: {versions}"
    restored, replaced = (client.get_model_version(MODEL_NAME, v).tags for v in versions)
    for tags in (restored, replaced):
        assert tags.get("rollback.requested_by") == ROLLBACK["requested_by"], tags
        assert tags.get("rollback.reason") == ROLLBACK["reason"], tags
    assert restored.get("rollback.from_version") == "2", restored
    assert replaced.get("rollback.replaced_by_version") == "1", replaced

    with running_mlflow_ui(project) as mlflow_ui, chromium_page() as page:
        steps = Steps(page, clear=False)
        with steps("mlflow-registry"):
            page.goto(f"{mlflow_ui}/#/models/{MODEL_NAME}")
            page.get_by_text("Version 1").first.wait_for()
            close_mlflow_assistant(page)
            aliases = page.get_by_text(re.compile(r"@\s*champion")).count()
            assert aliases, f"no @champion alias shown for {MODEL_NAME}"
            steps.note(f"MLflow shows {MODEL_NAME} with its @champion alias")
            save_readme_image(page, "mlflow_registry.png", readme_folder,
                              clip={"x": 195, "y": 0, "width": 900, "height": 480})

    for name in ("asset_graph.png", "champion_metadata.png", "mlflow_registry.png"):
        size = (readme_folder / name).stat().st_size
        assert size < README_IMAGE_LIMIT, f"{readme_folder / name} is {size} bytes"


def test_a_person_sees_the_challenger_trials_evidence(tmp_path: Path) -> None:
    """A candidate on trial (`@challenger`), one labeled snapshot landed and picked up by the
    running sensor, and the trial's accumulated evidence on challenger_trial's page."""
    project = make_project(tmp_path, rows=TRIAL_ROWS, drop=HANDICAP, split=SMALL_TEST_SPLIT,
                           promotion=STRICT)
    readme_folder = readme_images_folder(tmp_path / "readme-images")
    materialize_with_cli(project, "champion-without-contract", "*")
    dataset_yaml = project.root / "dataset.yaml"
    dataset_yaml.write_text(yaml.safe_dump(
        {k: v for k, v in yaml.safe_load(dataset_yaml.read_text()).items() if k != "drop"}))
    materialize_with_cli(project, "candidate-with-contract", "*")
    assert champion_versions(project) == ("1", None)
    assert alias_version(project, CHALLENGER) == "2", "the candidate was not put on trial"

    with running_dagster_dev(project) as dagster, chromium_page() as page:
        steps = Steps(page, clear=False)

        with steps("trial-snapshot"):
            page.goto(f"{dagster}/automation")
            dismiss_community_dialog(page)
            customers(TRIAL_ROWS, seed=4).to_csv(project.root / "landing" / "week-1.csv",
                                                 index=False)
            run_id = first_run_of(dagster, INTAKE_JOB, SENSOR_SECONDS)
            assert run_id, f"new_customer_data_sensor launched no {INTAKE_JOB}"
            status = wait_for_run(dagster, run_id, RUN_SECONDS)
            steps.note(f"week-1.csv landed: the sensor's {INTAKE_JOB} run {run_id} ended "
                       f"{status}")
            assert status == "SUCCESS", f"{INTAKE_JOB} run {run_id} ended {status}"

        with steps("challenger-evidence"):
            page.goto(f"{dagster}/assets/challenger_trial")
            page.get_by_text("challenger_decision", exact=True).first.wait_for()
            decision = metadata_value(page, "challenger_decision")
            reason = metadata_value(page, "reason")
            delta = metadata_value(page, "challenger_delta")
            steps.note(f"challenger_trial: {decision}: {reason}; delta {delta}")
            assert decision == "promoted" and reason, reason
            page.get_by_placeholder("Filter metadata keys").fill("looks")
            looks = metadata_row(page, "looks")  # a short markdown table renders in its row
            looks.locator("tbody tr").first.wait_for()  # the filtered table renders anew
            header = {cell.strip() for cell in looks.locator("th").all_inner_texts()}
            rows = looks.locator("tbody tr").all_inner_texts()
            assert {"look", "snapshot", "accumulated_gain", "always_valid_p"} <= header, header
            assert len(rows) == 1 and "week-1.csv" in rows[0], rows
            dialog = open_markdown(page, "evidence")
            picture = dialog.locator("img").first
            picture.wait_for()
            assert picture.evaluate("i => i.complete && i.naturalWidth > 0"), \
                "the evidence picture is not rendered"
            steps.note("challenger_trial evidence: looks table and picture rendered")
            save_readme_image(page, "challenger_evidence.png", readme_folder,
                              clip=dialog.bounding_box())

    assert champion_versions(project) == ("2", "1")
    size = (readme_folder / "challenger_evidence.png").stat().st_size
    assert size < README_IMAGE_LIMIT, f"{readme_folder / 'challenger_evidence.png'} is {size}"


def open_markdown(page, key: str):
    """A long markdown value is a "[Show Markdown]" link in its row; it opens a dialog."""
    keys = page.get_by_placeholder("Filter metadata keys")
    keys.fill(key)
    metadata_row(page, key).get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    # It fades in: a picture taken earlier shows the page through it.
    page.wait_for_function(
        "d => !document.getAnimations().some(a => a.playState === 'running' && "
        "a.effect && a.effect.target && (a.effect.target.contains(d) || d.contains("
        "a.effect.target)))", arg=dialog.element_handle())
    return dialog


def close_dialog(page) -> None:
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="hidden")
    page.get_by_placeholder("Filter metadata keys").fill("")


def mlflow_client(project: UiProject):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=project.tracking_uri,
                               registry_uri=project.tracking_uri)


def alias_version(project: UiProject, alias: str) -> str | None:
    from churn_assets.registry.model_registry import version_for_alias

    return version_for_alias(mlflow_client(project), MODEL_NAME, alias)


def champion_versions(project: UiProject) -> tuple[str, str | None]:
    """The versions holding @champion and @previous_champion (None when unset)."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(project)
    found = []
    for alias in ("champion", "previous_champion"):
        try:
            found.append(str(client.get_model_version_by_alias(MODEL_NAME, alias).version))
        except MlflowException:
            found.append(None)
    return found[0], found[1]


def promote_a_second_version(project: UiProject) -> None:
    """Retrain with another seed and promote it whatever its F1 (min_delta -1 and a full
    ROC-AUC margin: any interval's lower bound is above -1)."""
    materialize_with_cli(project, "second-champion", "tuned_churn_model,champion_model", {
        "ops": {
            "tuned_churn_model": {"config": {"seed": 7}},
            "champion_model": {"config": {"min_delta": -1.0, "roc_auc_margin": 1.0}},
        }})


def materialize_with_cli(project: UiProject, name: str, selection: str,
                         config: dict | None = None) -> None:
    """`dagster asset materialize` against the same Dagster home and MLflow store the UI uses
    (the UI lists its run like any other); the log goes to ``<name>.log``."""
    log = project.root / f"{name}.log"
    command = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "churn_assets",
               "--select", selection]
    with log.open("w") as out:
        done = subprocess.run(
            command + (["--config-json", json.dumps(config)] if config else []),
            env=project.env, cwd=project.root, stdout=out, stderr=subprocess.STDOUT,
            timeout=RUN_SECONDS, check=False)
    assert done.returncode == 0, f"the CLI run {name} failed:\n{log.read_text()[-3000:]}"


def launch_from_launchpad(page, dagster: str, job: str, config: dict, steps: Steps) -> None:
    """Open the job's launchpad, type its op config into the editor, launch, wait for the run."""
    page.goto(f"{dagster}/locations/churn_assets/jobs/{job}/playground")
    launch = page.get_by_role("button", name=re.compile("Launch run", re.I))
    launch.wait_for()
    op = job.removesuffix("_job")
    text = f"ops:\n  {op}:\n    config:\n" + "".join(
        f"      {key}: {json.dumps(value)}\n" for key, value in config.items())
    page.locator(".CodeMirror").first.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)  # one input event: the editor does not re-indent it
    typed = page.locator(".CodeMirror").first.evaluate("e => e.CodeMirror.getValue()")
    assert typed.strip() == text.strip(), f"the launchpad holds:\n{typed}"
    page.wait_for_function(  # enabled once the typed config validates
        "() => [...document.querySelectorAll('button')].some(b => /launch run/i.test("
        "b.innerText) && !b.disabled)")
    launch.click()
    page.wait_for_url(re.compile(r"/runs/"))
    run_id = page.url.rsplit("/runs/", 1)[1].split("?")[0]
    status = wait_for_run(dagster, run_id, RUN_SECONDS)
    page.reload()
    page.get_by_text("Success").first.wait_for()
    steps.note(f"{job} run {run_id} ended {status} (config typed in the launchpad: "
               f"{', '.join(config)})")
    assert status == "SUCCESS", f"{job} run {run_id} ended {status}"


def close_mlflow_assistant(page) -> None:
    """MLflow 3's assistant panel covers half of the page; close it when it is there."""
    panel = page.get_by_text("MLflow Assistant")
    if panel.count():
        close = page.get_by_role("button", name=re.compile("close", re.I))
        if close.count():
            close.last.click()
