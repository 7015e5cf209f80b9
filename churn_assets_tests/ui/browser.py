"""Debian's Chromium driven by Playwright, and named steps that leave evidence.

Every step ends with a screenshot in ``.ui-screenshots/`` (git-ignored); a step that fails
also saves the page's text beside it, so a CI failure can be read without re-running.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from churn_assets.dataset_config import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / ".ui-screenshots"
README_IMAGES = PROJECT_ROOT / "docs" / "images"  # tracked: rewritten by `make screenshots` only
UPDATE_README_IMAGES_ENV = "CHURN_UPDATE_README_IMAGES"  # "1": the test writes README_IMAGES
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
README_IMAGE_LIMIT = 200_000  # bytes: the pictures are committed
BROWSER_TEST_MARKS = [  # every browser test module's pytestmark
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (make test "
                       "installs Debian's chromium package with apt)"),
]


@contextmanager
def chromium_page(width: int = 1400, height: int = 900) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


@contextmanager
def parked(page) -> Iterator[None]:
    """The page on about:blank while the test waits for a run or a sensor through the API: a
    Dagster page left open re-renders every few seconds (live graph, logs, ticks) and costs
    Chromium CPU for the whole wait. The caller opens the page it shows next."""
    page.goto("about:blank")
    yield


class Steps:
    """``with steps("name"):`` runs one step; the log says what was seen."""

    def __init__(self, page, folder: Path = SCREENSHOTS, clear: bool = True):
        self.page, self.folder = page, folder
        folder.mkdir(parents=True, exist_ok=True)
        if clear:  # a fresh run's evidence only (a subfolder is another test's)
            for old in folder.glob("*"):
                if old.is_file():
                    old.unlink()
        self.count = len(list(folder.glob("*.png")))

    def note(self, text: str) -> None:
        print(text, flush=True)
        with (self.folder / "steps.log").open("a") as log:
            log.write(text + "\n")

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.count += 1
        stem = self.folder / f"{self.count:02d}-{name}"
        try:
            yield
        except BaseException:
            self.page.screenshot(path=f"{stem}-FAILED.png", full_page=True)
            stem.with_name(stem.name + "-FAILED.txt").write_text(
                f"url: {self.page.url}\n\n{self.page.inner_text('body')}")
            self.note(f"step {name} failed: see {stem}-FAILED.png/.txt")
            raise
        self.page.screenshot(path=f"{stem}.png")
        self.note(f"step {name}: ok")


def readme_images_folder(scratch: Path) -> Path:
    """docs/images when asked (``make screenshots``), else ``scratch``: a test run leaves the
    tracked pictures alone and the tree clean."""
    return README_IMAGES if os.environ.get(UPDATE_README_IMAGES_ENV) == "1" else scratch


def save_readme_image(page, name: str, folder: Path, clip: dict | None = None) -> Path:
    """A small PNG for the README (palette-reduced when Pillow is there)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), clip=clip)
    try:
        from PIL import Image

        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=64).save(path, optimize=True)
    except ImportError:
        pass
    return path


def dismiss_community_dialog(page, seconds: float = 15) -> bool:
    """Dagster's one-time "Join the Dagster community" dialog (once per DAGSTER_HOME)."""
    dialog = page.get_by_text("Join the Dagster community")
    try:
        dialog.wait_for(timeout=seconds * 1000)
    except Exception:  # Playwright's TimeoutError: it was already seen
        return False
    page.get_by_role("button", name="Skip").click()
    dialog.wait_for(state="hidden")
    return True


def metadata_row(page, key: str):
    # By its key cell: a value may equal another key ("decision" holds "promoted").
    return page.locator("tr").filter(
        has=page.locator("td:first-child").get_by_text(key, exact=True)).first


def metadata_value(page, key: str) -> str:
    return metadata_row(page, key).locator("td").last.inner_text().strip()


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
