"""The Dagster and MLflow UIs, used in a real browser the way a person uses them.

`dagster dev` and `mlflow ui` run as subprocesses against a temporary Dagster home, MLflow
store and small generated dataset; Debian's Chromium (driven by Playwright) opens the asset
lineage and catalog, clicks "Materialize all", reads the champion's decision from its
metadata and opens its evaluation pictures and model card, checks the sensors and the
schedule are running; then a second version becomes champion (a retrain run in the test's
process against the same stores), the person rolls it back from the rollback job's
launchpad, and MLflow shows @champion back on version 1 with who asked and why (the
challenger trial's page: test_challenger_ui.py). Screenshots go to .ui-screenshots/ (a
failing step leaves its page text there too); three of them are the README's pictures in
docs/images/.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from churn_assets_tests.ui.browser import (
    BROWSER_TEST_MARKS,
    README_IMAGE_LIMIT,
    Steps,
    chromium_page,
    close_dialog,
    dismiss_community_dialog,
    metadata_value,
    open_markdown,
    parked,
    readme_images_folder,
    save_readme_image,
)
from churn_assets_tests.ui.servers import (
    MODEL_NAME,
    RUN_SECONDS,
    UiProject,
    champion_versions,
    make_project,
    materialize_in_this_process,
    mlflow_client,
    running_dagster_dev,
    running_mlflow_ui,
    wait_for_run,
)

pytestmark = BROWSER_TEST_MARKS

SENSORS_AND_SCHEDULES = ("new_customer_data_sensor", "drift_retraining_sensor",
                         "weekly_retraining_schedule")
ROLLBACK_JOB = "rollback_champion_job"
ROLLBACK = {"requested_by": "ui-test on-call", "reason": "INC-42: v2 flags loyal customers"}
GRAPH_WINDOW = {"width": 2000, "height": 1100}


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


def switch_is_on(page, name: str, seconds: float = 60) -> bool:
    """The automation's on/off switch: the checkbox at the right end of its row. The switches
    render once the instance state has loaded, after the names; on a busy machine a switch
    may first show off, or an error icon in its place, while that state loads: look until it
    shows on, reloading the page once halfway. Off (or absent) for the whole time fails."""
    width = page.viewport_size["width"]
    deadline = time.monotonic() + seconds
    reload_at = deadline - seconds / 2
    seen = None
    while time.monotonic() < deadline:
        label = page.get_by_text(name, exact=True).first.bounding_box()
        for box in page.get_by_role("checkbox").all():
            where = box.bounding_box()
            if label and where and where["x"] > width / 2 and abs(where["y"] - label["y"]) < 40:
                seen = box.is_checked()
                break
        if seen:
            return True
        if reload_at and time.monotonic() > reload_at:
            reload_at = 0
            page.reload()
            page.get_by_text(name, exact=True).first.wait_for()
        page.wait_for_timeout(500)
    if seen is None:
        raise AssertionError(f"no on/off switch next to {name}")
    return False


def test_a_person_trains_and_inspects_the_model_in_both_uis(tmp_path: Path) -> None:
    asset_groups, jobs = graph_contents()
    project = make_project(tmp_path, promotion={"min_f1": 0.3, "min_roc_auc": 0.6})
    readme_folder = readme_images_folder(tmp_path / "readme-images")
    with chromium_page() as page:  # one browser for both UIs (a second start: ~3 CPU s)
        with running_dagster_dev(project) as dagster:
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
                with parked(page):
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
                with parked(page):
                    promote_a_second_version(project)
                page.goto(f"{dagster}/runs")  # the step's screenshot: the retrain run listed
                versions = champion_versions(project)
                steps.note(f"retrain: @champion v{versions[0]}, @previous_champion "
                           f"v{versions[1]}")
                assert versions == ("2", "1"), versions

            with steps("rollback-job"):
                assert ROLLBACK_JOB in jobs, f"no {ROLLBACK_JOB} in the definitions"
                launch_from_launchpad(page, dagster, ROLLBACK_JOB, ROLLBACK, steps)
            page.goto("about:blank")  # no Dagster page polling a server being stopped

        client = mlflow_client(project)
        versions = champion_versions(project)
        assert versions == ("1", "2"), \
            f"after the rollback @champion/@previous_champion: {versions}"
        restored, replaced = (client.get_model_version(MODEL_NAME, v).tags for v in versions)
        for tags in (restored, replaced):
            assert tags.get("rollback.requested_by") == ROLLBACK["requested_by"], tags
            assert tags.get("rollback.reason") == ROLLBACK["reason"], tags
        assert restored.get("rollback.from_version") == "2", restored
        assert replaced.get("rollback.replaced_by_version") == "1", replaced

        with running_mlflow_ui(project) as mlflow_ui:
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


def promote_a_second_version(project: UiProject) -> None:
    """Retrain with another seed and promote it whatever its F1 (min_delta -1 and a full
    ROC-AUC margin: any interval's lower bound is above -1)."""
    materialize_in_this_process(project, ["tuned_churn_model", "champion_model"], {
        "ops": {
            "tuned_churn_model": {"config": {"seed": 7}},
            "champion_model": {"config": {"min_delta": -1.0, "roc_auc_margin": 1.0}},
        }})


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
    run_page = page.url
    run_id = run_page.rsplit("/runs/", 1)[1].split("?")[0]
    with parked(page):
        status = wait_for_run(dagster, run_id, RUN_SECONDS)
    page.goto(run_page)
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
