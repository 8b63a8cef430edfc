"""The exploration notebook in JupyterLab, as a user sees it: Debian's chromium driven by playwright.

Starts JupyterLab (token-less, ``--no-browser``, on a free local port, private
runtime/config/workspace folders) on a temporary copy of ``notebooks/explore.ipynb``
whose parameters point at the session's real processed folder, opens it in the
system ``chromium`` (``executable_path``: playwright downloads no browser), runs
every cell from the *Run* menu, and checks at 1,400 and 1,280 px:

* the widgets are rendered (dropdowns, sliders, the figures);
* no console error and no uncaught exception in the page;
* moving an area weight slider redraws the city's view (the status line, the
  priority table with its new weight) without a page error;
* no figure, and no view, is wider than its output area.

Screenshots go to ``$COCITY_SCREENSHOT_DIR`` when set. Skipped, with the reason,
only when chromium is absent (``.ci/run`` installs it). The notebook runs in the
kernel it declares, ``cocity``, which ``make setup`` installs.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from cocity_analysis import config

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTHS = (1400, 1280)
SCREENSHOT_DIR_ENV = "COCITY_SCREENSHOT_DIR"
SERVER_TIMEOUT_S = 120
RUN_TIMEOUT_MS = 240_000  # Run All on a cold kernel: imports, tables, the first analysis and drawing
STDERR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"  # errors, warnings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (`apt-get install chromium`; .ci/run does it)")
    return path


@pytest.fixture(scope="module")
def lab(real_processed_dir, tmp_path_factory, chromium):
    """URL of a running JupyterLab whose root holds ``explore.ipynb`` parameterised on the real data."""
    root = tmp_path_factory.mktemp("lab")
    notebook = nbformat.read(config.NOTEBOOKS_DIR / "explore.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = f"processed_dir = {str(real_processed_dir)!r}\ncity_code = None"
    nbformat.write(notebook, str(root / "explore.ipynb"))
    private = tmp_path_factory.mktemp("jupyter")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(private / "runtime"),
           "JUPYTER_CONFIG_DIR": str(private / "config"), "JUPYTERLAB_WORKSPACES_DIR": str(private / "ws"),
           "JUPYTERLAB_SETTINGS_DIR": str(private / "settings"), "IPYTHONDIR": str(private / "ipython")}
    # no "official Jupyter news?" toast over the panel, no update check (the machine may be offline)
    notification = private / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")
    port = free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
               "--ServerApp.port_retries=0", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
               "jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = private / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
                    json.load(response)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start: {log.read_text(errors='replace')[-1500:]}")
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _screenshot(page, name: str) -> None:
    folder = os.environ.get(SCREENSHOT_DIR_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


# Control labels cut short with an ellipsis by the column, without their whole text on hover.
CUT_LABELS_JS = """() => [...document.querySelectorAll(
    '.widget-hslider .widget-label, .widget-checkbox .widget-label-basic span')]
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => ({text: el.textContent, title: el.title}))"""


# Every figure and view of the panel, each against the output area that holds it (rounded px).
OVERFLOW_JS = """() => {
  const out = [];
  for (const area of document.querySelectorAll('.jp-OutputArea-output')) {
    const box = area.getBoundingClientRect();
    if (!box.width) continue;
    // figures, widget boxes and the table's box (a table too wide scrolls inside it)
    for (const el of area.querySelectorAll('img, .widget-box, .widget-html, .cocity-table')) {
      const r = el.getBoundingClientRect();
      if (!r.width) continue;
      if (r.right > box.right + 1 || r.left < box.left - 1) {
        out.push({tag: el.tagName, cls: String(el.className && el.className.baseVal !== undefined
                  ? el.className.baseVal : el.className), width: Math.round(r.width),
                  area: Math.round(box.width), right: Math.round(r.right), areaRight: Math.round(box.right)});
      }
    }
  }
  return out;
}"""


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def test_explore_in_jupyterlab(lab, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 1000})
        try:
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(f"{lab}/lab/tree/explore.ipynb", wait_until="domcontentloaded")
            page.locator(".jp-Notebook").first.wait_for(timeout=90_000)
            # the kernel the notebook declares started by itself (no "select kernel" dialog)
            page.get_by_text(f"{config.KERNEL_DISPLAY_NAME} | Idle").first.wait_for(timeout=120_000)
            assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
            _run_all(page)
            page.wait_for_function(  # the panel's status line, or a failed cell
                "() => [...document.querySelectorAll('.jp-OutputArea-output')].some(e => "
                "e.textContent.includes('profili sulle 39 città') || e.matches(STDERR))".replace(
                    "STDERR", json.dumps(STDERR_OUTPUT)), timeout=RUN_TIMEOUT_MS)
            errors_in_outputs = page.locator(STDERR_OUTPUT)
            assert errors_in_outputs.count() == 0, errors_in_outputs.all_inner_texts()
            figures = page.locator("img.cocity-figure")
            figures.nth(2).wait_for(timeout=60_000)

            # widgets rendered
            assert page.locator(".widget-dropdown select").count() >= 4
            sliders = page.locator(".widget-hslider")
            assert sliders.count() == 4
            assert figures.count() == 3
            for i in range(3):
                assert figures.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")

            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 1000})
                page.wait_for_timeout(600)  # JupyterLab re-lays out on resize
                for view, element in (("profile", "img.cocity-figure >> nth=0"), ("table", ".cocity-table"),
                                      ("biplot-map", "img.cocity-figure >> nth=1")):
                    page.locator(element).first.scroll_into_view_if_needed()
                    _screenshot(page, f"explore-{width}px-{view}")
                overflowing = page.evaluate(OVERFLOW_JS)
                assert overflowing == [], f"at {width} px: {overflowing}"
                cut = page.evaluate(CUT_LABELS_JS)
                assert cut and all(label["title"] == label["text"] for label in cut), f"at {width} px: {cut}"
                # every column of the priority table in view, none hidden behind its box's scroll bar
                widths = page.locator(".cocity-table").first.evaluate("el => [el.scrollWidth, el.clientWidth]")
                assert widths[0] <= widths[1] + 1, f"at {width} px the table scrolls: {widths}"

            # moving an area weight slider redraws the city's view
            status = page.locator(".widget-html", has_text="profili sulle 39 città").first
            table = page.locator(".cocity-table").first
            before = table.inner_text()
            slider = sliders.filter(has_not_text="dati non disponibili").first  # an area with data
            handle = slider.locator(".noUi-handle").first
            handle.scroll_into_view_if_needed()
            box = handle.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + 120, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            page.wait_for_function("([el, old]) => el.innerText !== old", arg=[table.element_handle(), before],
                                   timeout=60_000)
            readout = slider.locator(".widget-readout").inner_text()
            assert readout != "1.00" and readout != "1.0"
            assert "profili sulle 39 città" in status.inner_text()
            assert page.evaluate(OVERFLOW_JS) == []
            _screenshot(page, "explore-after-slider")
        except Exception:
            failed = Path(os.environ.get(SCREENSHOT_DIR_ENV) or tmp_path) / "explore-failed.png"
            failed.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(failed))
            print(f"screenshot of the failure: {failed}; page messages: {problems}")
            raise
        finally:
            browser.close()
    assert problems == [], problems
