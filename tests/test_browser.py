"""The reports in a real browser: Debian's ``chromium``, headless, network disabled.

The test setup installs ``chromium`` with apt when it is missing (``.ci/run`` does the same
before the suite): ``apt-get update`` then ``apt-get install -y chromium``, only as root.
When that is impossible (not root, no apt, no mirror reachable) the tests are skipped with
the reason.

The browser is driven through the DevTools protocol (``websocket-client``): every failed
request, console error and uncaught exception is recorded while a report opened from disk
loads with the network switched off; screenshots at 1280 px and 390 px (phone) must not be
blank, and the phone layout must not scroll sideways.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
    # no DNS and a dead proxy: nothing can leave the machine even if a page tried
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
)
APT_TIMEOUT_S = 900
SCREENSHOT_DIR_ENV = "COCITY_SCREENSHOT_DIR"  # keep the screenshots there to look at them


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium() -> str:
    """Path of a Chromium binary, installing Debian's ``chromium`` with apt when missing.

    Raises ``RuntimeError`` with the reason when it cannot be had.
    """
    found = find_chromium()
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise RuntimeError("chromium not installed and apt-get not available")
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise RuntimeError("chromium not installed and not running as root: run `apt-get install -y chromium`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"])
    for command in steps:
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"`{' '.join(command)}` failed: {exc}") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"`{' '.join(command)}` exited {done.returncode}: {' | '.join(tail)}")
    found = find_chromium()
    if not found:
        raise RuntimeError("apt-get installed chromium but no chromium binary is on PATH")
    return found


class Browser:
    """A headless Chromium and one page, driven over the DevTools protocol."""

    def __init__(self, binary: str, user_data_dir: Path):
        self.user_data_dir = user_data_dir
        self.stderr_path = user_data_dir.parent / f"{user_data_dir.name}-stderr.log"
        with open(self.stderr_path, "wb") as stderr:  # a file, not a pipe nobody reads
            self.process = subprocess.Popen(
                [binary, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "--remote-debugging-port=0",
                 "--remote-allow-origins=*", "about:blank"],
                stdout=subprocess.DEVNULL, stderr=stderr)
        self.ws = None
        try:
            self._connect(user_data_dir)
        except BaseException:
            self.close()  # never leave a browser behind
            raise

    def _connect(self, user_data_dir: Path) -> None:
        import websocket

        port_file = user_data_dir / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.is_file() or not port_file.read_text().strip():
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.stderr_path.read_text(errors='replace')[-800:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port within 60 s")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = json.loads(_http_get(port, "/json/list"))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self._id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        # the network is off: anything a report tried to fetch would fail and be recorded
        self.call("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1,
                  uploadThroughput=-1)

    def call(self, method: str, **params):
        self._id += 1
        message_id = self._id
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, message in enumerate(self.events):
                if message.get("method") == event:
                    return self.events.pop(i)
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            message = json.loads(self.ws.recv())
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(event)

    def open(self, path: Path, width: int, height: int, mobile: bool) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=mobile)
        self.events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, full_page: bool = False) -> bytes:
        params = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])

    def problems(self) -> list[str]:
        """Failed requests, console errors and uncaught exceptions seen since the last ``open``."""
        found = []
        for message in self.events:
            method, params = message.get("method"), message.get("params", {})
            if method == "Network.loadingFailed":
                found.append(f"failed request: {params.get('errorText')} {params.get('type')}")
            elif method == "Network.responseReceived" and params.get("response", {}).get("status", 200) >= 400:
                found.append(f"HTTP {params['response']['status']}: {params['response'].get('url', '')[:100]}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                found.append(f"log error ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')[:100]}")
        return found

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _http_get(port: int, path: str) -> str:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    with opener.open(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode("utf-8")


def png_is_blank(data: bytes) -> bool:
    """True when a screenshot is (almost) one flat colour."""
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(data)).convert("L")
    extrema = image.getextrema()
    return extrema[1] - extrema[0] < 40 or ImageStat.Stat(image).stddev[0] < 8


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------

MATERA = "077014"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        binary = ensure_chromium()
    except RuntimeError as exc:
        pytest.skip(f"no Chromium for the browser tests: {exc}")
    instance = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def rendered(real_processed_dir, tmp_path_factory):
    """One city report (Italian), the overview and the index, made by the batch engine."""
    from cocity_analysis.reporting import batch

    out = tmp_path_factory.mktemp("browser-reports")
    summary = batch.run_reports([MATERA], processed_dir=real_processed_dir, out_dir=out, jobs=2, overview=True)
    assert summary.ok, [r.error for r in summary.failed]
    return out


def _keep(name: str, data: bytes) -> None:
    target = os.environ.get(SCREENSHOT_DIR_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(data)


PAGES = [("city", f"cities/{MATERA}.html"), ("overview", "overview.html"), ("index", "index.html")]


@pytest.mark.slow
@pytest.mark.parametrize("kind,relative", PAGES, ids=[p[0] for p in PAGES])
def test_page_opens_offline_without_errors(browser, rendered, kind, relative):
    page = rendered / relative
    browser.open(page, 1280, 900, mobile=False)
    assert browser.problems() == []
    wide = browser.screenshot()
    _keep(f"{kind}-1280.png", wide)
    _keep(f"{kind}-1280-full.png", browser.screenshot(full_page=True))
    assert not png_is_blank(wide), "blank screenshot at 1280 px"
    assert browser.evaluate("document.images.length + document.querySelectorAll('svg').length") >= (
        1 if kind != "index" else 0)
    # every embedded image decoded (a broken data: URI would have naturalWidth 0)
    assert browser.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")

    browser.open(page, 390, 844, mobile=True)
    assert browser.problems() == []
    phone = browser.screenshot()
    _keep(f"{kind}-390.png", phone)
    _keep(f"{kind}-390-full.png", browser.screenshot(full_page=True))
    assert not png_is_blank(phone), "blank screenshot at 390 px"
    scroll_width = browser.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the phone layout scrolls sideways ({scroll_width} px wide)"


@pytest.mark.slow
def test_index_sorts_in_the_browser(browser, rendered):
    browser.open(rendered / "index.html", 1280, 900, mobile=False)
    names = "[...document.querySelectorAll('#cocity-cities tbody tr td:first-child')].map(td => td.textContent)"
    before = browser.evaluate(names)
    assert len(before) == 39
    browser.evaluate("document.querySelector('#cocity-cities thead th:first-child button').click()")
    after = browser.evaluate(names)
    assert after == list(reversed(before))  # already A-Z: the first click sorts Z-A
    shares = "[...document.querySelectorAll('#cocity-cities tbody tr td:nth-child(5)')].map(td => td.dataset.sort)"
    browser.evaluate("document.querySelector('#cocity-cities thead th:nth-child(5) button').click()")
    values = [float(v) for v in browser.evaluate(shares) if v]
    if values:  # shares exist when the uncertainty analysis ran
        assert values == sorted(values)
    assert browser.problems() == []


def test_blank_detector_can_fail():
    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(blank, format="PNG")
    assert png_is_blank(blank.getvalue())
    drawn = Image.new("RGB", (200, 100), "white")
    for x in range(0, 200, 4):
        for y in range(100):
            drawn.putpixel((x, y), (0, 0, 0))
    buffer = io.BytesIO()
    drawn.save(buffer, format="PNG")
    assert not png_is_blank(buffer.getvalue())


@pytest.mark.slow
def test_browser_checks_can_fail(browser, tmp_path):
    """The same checks on a page that does everything a report must not do."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body><img src="https://example.org/logo.png" alt="x"><div style="width:1000px">wide</div>'
        "<script>console.error('broken');</script></body></html>", encoding="utf-8")
    browser.open(page, 390, 844, mobile=True)
    problems = browser.problems()
    assert any(p.startswith("failed request") for p in problems), problems
    assert any("console.error" in p for p in problems), problems
    assert browser.evaluate("document.documentElement.scrollWidth") > 390
