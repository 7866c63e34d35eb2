"""The HTML report in a real browser: headless Chromium (Debian package ``chromium``).

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (JSON
messages separated by NUL bytes on descriptors 3 and 4: no websocket, no extra package).
The page is loaded at a desktop and a phone width; the tests read what the browser
itself reports — console messages, uncaught exceptions, log entries (a content security
policy violation or a failed load is one), every request it made — and a screenshot.

Skipped, with the reason, when no Chromium is installed (``apt-get install chromium``).
Every wait is bounded by :data:`HANG_GUARD_S`.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS

from qcalc import htmlreport

#: Longest wait for any answer from the browser before the test fails (a hang guard,
#: not a timing bound). [s]
HANG_GUARD_S = 30.0

CHROMIUM = next(
    (
        p
        for p in (
            shutil.which("chromium"),
            "/usr/bin/chromium",
            shutil.which("chromium-browser"),
            shutil.which("google-chrome"),
        )
        if p and os.path.exists(p)
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium); "
    "the report's browser tests need it",
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-pipe",
]

HOSTILE = """\
qcalc: 1
name: "<script>alert(1)</script> & <img src=x onerror=alert(2)>"
nodes:
  "a<b>": {source: {kind: weak_coherent, repetition_rate_hz: 1.0e9}}
  "c'\\"d": {detector: {efficiency: 0.5}}
links:
  - {name: "<svg onload=alert(3)>", ends: ["a<b>", "c'\\"d"], length_km: 30}
demands:
  - name: "</table><script>alert(4)</script>"
    ends: ["a<b>", "c'\\"d"]
    expect: {key_rate_bps: ">= 1e12"}
"""


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    """The two descriptors moved to numbers ≥ 10, so that putting them on 3 and 4 in the
    child never overwrites one with the other."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved[0], moved[1]


class Browser:
    """One headless Chromium driven over the DevTools pipe."""

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._to_browser = _high(os.pipe())
        self._from_browser, from_browser_w = _high(os.pipe())
        args = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        # The child gets our pipe ends on the descriptors the protocol uses (3 and 4);
        # every other descriptor of ours is close-on-exec.
        self.pid = os.posix_spawn(
            CHROMIUM,
            args,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, to_browser_r, 3),
                (os.POSIX_SPAWN_DUP2, from_browser_w, 4),
            ],
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0.0))
            if not ready:
                raise TimeoutError(f"Chromium said nothing for {HANG_GUARD_S} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise ConnectionError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def send(self, method: str, session: bool = True, **params: Any) -> dict[str, Any]:
        """Call ``method`` and return its result; events met meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + HANG_GUARD_S
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, event: str) -> dict[str, Any]:
        deadline = time.monotonic() + HANG_GUARD_S
        for seen in self.events:
            if seen["method"] == event:
                return seen
        while True:
            reply = self._read_message(deadline)
            if "method" in reply:
                self.events.append(reply)
                if reply["method"] == event:
                    return reply

    def open(self, url: str, width: int, height: int, mobile: bool = False) -> None:
        """A new tab at ``width``×``height`` CSS pixels, watching console, log and network,
        that has loaded ``url``."""
        target = self.send("Target.createTarget", session=False, url="about:blank")
        attached = self.send(
            "Target.attachToTarget", session=False, targetId=target["targetId"], flatten=True
        )
        self.session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        shot = self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and log entries of the page."""
        out = []
        for e in self.events:
            params = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "warning",
                "assert",
            ):
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif e["method"] == "Runtime.exceptionThrown":
                out.append(f"exception: {params.get('exceptionDetails')}")
            elif e["method"] == "Log.entryAdded" and params["entry"]["level"] in (
                "error",
                "warning",
            ):
                out.append(f"log {params['entry']['level']}: {params['entry'].get('text')}")
        return out

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False)
        except (OSError, RuntimeError, TimeoutError, ConnectionError):
            pass
        deadline = time.monotonic() + HANG_GUARD_S
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of three bundled scenarios (fibre, a trusted-node chain, a whole satellite
    pass) and a scenario whose every name is hostile markup."""
    folder = tmp_path_factory.mktemp("report")
    hostile = folder / "hostile.yaml"
    hostile.write_text(HOSTILE, encoding="utf-8")
    files = [
        str(SCENARIOS / "metro-fibre.yaml"),
        str(SCENARIOS / "trusted-node-backbone.yaml"),
        str(SCENARIOS / "micius-2017-qkd-downlink.yaml"),
        str(hostile),
    ]
    target = folder / "report.html"
    target.write_text(htmlreport.render(htmlreport.collect(files)), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


def _pixel_spread(png: bytes) -> tuple[float, int]:
    """(standard deviation of the grey levels, number of distinct colours) of a PNG."""
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(png)).convert("RGB")
    grey = image.convert("L")
    colours = image.getcolors(maxcolors=1 << 16)
    return float(ImageStat.Stat(grey).stddev[0]), len(colours) if colours else 1 << 16


@pytest.mark.parametrize(("width", "height", "mobile"), [(1200, 900, False), (390, 844, True)])
def test_report_renders_without_errors_and_is_not_blank(
    browser: Browser, report_file: Path, width: int, height: int, mobile: bool
) -> None:
    browser.open(report_file.as_uri(), width, height, mobile)
    assert browser.problems() == []
    # The page asks for nothing but itself: no font, image, style or script from anywhere.
    assert browser.requests() == [report_file.as_uri()]
    # The hostile names stayed text: no script element, no event handler ran.
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.querySelectorAll('[onerror],[onload]').length") == 0
    assert "<script>alert(1)</script>" in browser.evaluate("document.body.innerText")
    # Every figure is drawn (has a size) and is labelled for a screen reader.
    figures = browser.evaluate(
        "[...document.querySelectorAll('svg')].map(s => [s.getBoundingClientRect().width,"
        " s.getBoundingClientRect().height, s.getAttribute('role'),"
        " (s.querySelector('title') || {}).textContent || ''])"
    )
    assert len(figures) >= 8
    for w, h, role, title in figures:
        assert w > 300 and h > 30 and role == "img" and title
    # Nothing sticks out sideways: wide tables scroll inside their own box.
    assert browser.evaluate("document.documentElement.scrollWidth") <= width
    spread, colours = _pixel_spread(browser.screenshot())
    assert spread > 10 and colours > 16, f"blank screenshot? grey sd {spread}, {colours} colours"


def test_report_prints(browser: Browser, report_file: Path) -> None:
    """The print style applies: no navigation, each scenario starts a page, wide tables
    and figures unfold instead of scrolling."""
    browser.open(report_file.as_uri(), 1200, 900)
    style = "getComputedStyle(document.querySelector('{}')).{}"
    assert browser.evaluate(style.format("nav", "display")) != "none"
    browser.send("Emulation.setEmulatedMedia", media="print")
    assert browser.evaluate(style.format("nav", "display")) == "none"
    assert browser.evaluate(style.format("section.scenario", "breakBefore")) == "page"
    assert browser.evaluate(style.format(".scroll", "overflowX")) == "visible"
    assert browser.problems() == []
