"""The Dagster and MLflow UIs, used in a real browser the way a person uses them.

`dagster dev` and `mlflow ui` run as subprocesses against a temporary Dagster home, MLflow
store and small generated dataset; Debian's Chromium (driven by Playwright) opens the asset
lineage and catalog, clicks "Materialize all", reads the champion's decision from its
metadata, checks the sensors and the schedule are running, launches the rollback job when
it exists, and finds the registered model with its @champion alias in MLflow. Screenshots
go to .ui-screenshots/ (a failing step leaves its page text there too); three of them are
the README's pictures in docs/images/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from churn_assets_tests.ui.browser import (
    CHROMIUM,
    README_IMAGE_LIMIT,
    Steps,
    chromium_page,
    dismiss_community_dialog,
    save_readme_image,
)
from churn_assets_tests.ui.servers import (
    MODEL_NAME,
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


def metadata_value(page, key: str) -> str:
    row = page.locator("tr").filter(has=page.get_by_text(key, exact=True)).first
    return row.locator("td").last.inner_text().strip()


def graph_clip(page, groups: set[str], margin: int = 30) -> dict:
    """The drawn graph only: the box around its group frames, found by their titles."""
    boxes = [box for group in groups
             for box in [page.get_by_text(group, exact=True).last.bounding_box()] if box]
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
    with running_dagster_dev(project) as dagster, chromium_page() as page:
        steps = Steps(page)

        with steps("asset-lineage"):
            page.goto(f"{dagster}/asset-groups")
            if dismiss_community_dialog(page):
                steps.note("dismissed the 'Join the Dagster community' dialog")
            page.get_by_role("button", name="Materialize all").wait_for()
            page.keyboard.press("Alt+e")  # the graph's "Expand all groups"
            page.get_by_text("raw_customers", exact=True).first.wait_for()
            lines = {line.strip() for line in page.inner_text("body").splitlines()}
            missing = [g for g in set(asset_groups.values()) if g not in lines]
            missing += [a for a in asset_groups if not shown_in_graph(a, lines)]
            assert not missing, f"not shown in the lineage graph: {missing}"
            steps.note(f"lineage shows {len(asset_groups)} assets in "
                       f"{len(set(asset_groups.values()))} groups")
            save_readme_image(page, "asset_graph.png",
                              clip=graph_clip(page, set(asset_groups.values())))

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
            images = page.locator("main img, table img").count()
            card = page.get_by_text(re.compile("model card", re.I)).count()
            steps.note(f"champion_model metadata: {images} picture(s), "
                       f"model card {'shown' if card else 'not present'}")
            save_readme_image(page, "champion_metadata.png", clip=section_clip(page, "Metadata"))

        with steps("automation"):
            page.goto(f"{dagster}/automation")
            for name in SENSORS_AND_SCHEDULES:
                page.get_by_text(name, exact=True).first.wait_for()
                assert switch_is_on(page, name), f"{name} is listed but not running"
            steps.note(f"running: {', '.join(SENSORS_AND_SCHEDULES)}")

        with steps("rollback-job"):
            if ROLLBACK_JOB not in jobs:
                steps.note(f"skipped: no {ROLLBACK_JOB} in the definitions yet")
            else:
                launch_from_launchpad(page, dagster, ROLLBACK_JOB, steps)

    with running_mlflow_ui(project) as mlflow_ui, chromium_page() as page:
        steps = Steps(page, clear=False)
        with steps("mlflow-registry"):
            page.goto(f"{mlflow_ui}/#/models/{MODEL_NAME}")
            page.get_by_text("Version 1").first.wait_for()
            close_mlflow_assistant(page)
            aliases = page.get_by_text(re.compile(r"@\s*champion")).count()
            assert aliases, f"no @champion alias shown for {MODEL_NAME}"
            steps.note(f"MLflow shows {MODEL_NAME} with its @champion alias")
            save_readme_image(page, "mlflow_registry.png",
                              clip={"x": 195, "y": 0, "width": 900, "height": 480})

    for name in ("asset_graph.png", "champion_metadata.png", "mlflow_registry.png"):
        size = (Path(__file__).parents[2] / "docs" / "images" / name).stat().st_size
        assert size < README_IMAGE_LIMIT, f"docs/images/{name} is {size} bytes"


def launch_from_launchpad(page, dagster: str, job: str, steps: Steps) -> None:
    """Open the job's launchpad, fill the config it scaffolds, launch, wait for the run."""
    page.goto(f"{dagster}/locations/churn_assets/jobs/{job}/playground")
    launch = page.get_by_role("button", name=re.compile("Launch run", re.I))
    launch.wait_for()
    scaffold = page.get_by_role("button", name=re.compile("Scaffold missing config", re.I))
    if scaffold.count() and scaffold.first.is_enabled():
        scaffold.first.click()
    launch.click()
    page.wait_for_url(re.compile(r"/runs/"))
    run_id = page.url.rsplit("/runs/", 1)[1].split("?")[0]
    status = wait_for_run(dagster, run_id, RUN_SECONDS)
    steps.note(f"{job} run {run_id} ended {status}")
    assert status == "SUCCESS", f"{job} run {run_id} ended {status}"


def close_mlflow_assistant(page) -> None:
    """MLflow 3's assistant panel covers half of the page; close it when it is there."""
    panel = page.get_by_text("MLflow Assistant")
    if panel.count():
        close = page.get_by_role("button", name=re.compile("close", re.I))
        if close.count():
            close.last.click()
