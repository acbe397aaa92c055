"""The operator console in a real browser (issue 16 item 4): headless Chromium (Debian's ``chromium``, driven by
Playwright) watches a warship pass arrive, sees the LOFARgram scroll, plays the contact's clip and confirms it;
the label is then in the store and in the exported manifest, and the daemon lost nothing when the browser died.

The screenshot lands in ``$UWAC_TEST_ARTIFACTS`` (default ``runs/test-artifacts``) as ``console.png``.
"""

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from tests.stream.polling import wait_for
from tests.stream.test_console import RATE, TOKEN, warship_pass  # noqa: F401  (the scene fixture)
from uwac.acoustics.labels.export import export_labels
from uwac.acoustics.labels.store import VerdictStore
from uwac.acoustics.manifest import read_manifest
from uwac.acoustics.stream.daemon import DEFAULT_MODEL, Daemon, StreamConfig
from uwac.acoustics.stream.events import read_events

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("UWAC_TEST_ARTIFACTS", ROOT / "runs" / "test-artifacts"))

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (.ci/run installs Debian's)")


def test_analyst_confirms_a_warship_in_the_browser(warship_pass, tmp_path):  # noqa: F811
    playwright = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "node"
    daemon = Daemon(StreamConfig(model=DEFAULT_MODEL, source="tcp-listen:127.0.0.1:0", out=out, http=("127.0.0.1", 0),
                                 fmt="f32le", in_rate=RATE, queue_blocks=4000, console=True, console_token=TOKEN))
    runner = threading.Thread(target=daemon.run)
    runner.start()
    feed = daemon.console.feed
    half = len(warship_pass) * 2 // 3  # the ambient and most of the pass first, the rest after the browser is gone
    try:
        digitizer = socket.create_connection(("127.0.0.1", daemon.source.address[1]))
        with playwright.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy="
                                                                          "no-user-gesture-required"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{daemon.service.url}/console#token={TOKEN}")
            assert wait_for(lambda: feed.pages == 1, 30)
            digitizer.sendall(warship_pass[:half].tobytes())
            page.wait_for_selector("#contacts tbody tr", timeout=120_000)
            lofar = page.locator(".channel .lofar").first
            rows = int(lofar.get_attribute("data-rows") or 0)
            assert rows >= 10  # the LOFARgram scrolled once per hop
            # the contact opens as `unknown` and takes its class as the evidence builds up (contact updates)
            page.wait_for_function("() => document.querySelector('#contacts tbody tr td.cls')"
                                   ".textContent.startsWith('warship')", timeout=120_000)
            row = page.locator("#contacts tbody tr").first
            row.locator("button.play").click()
            page.wait_for_function("() => document.getElementById('player').readyState >= 1 && "
                                   "document.getElementById('player').duration > 10", timeout=30_000)
            page.locator("#contacts tbody tr").first.locator("button.confirm").click()
            page.wait_for_function("() => [...document.querySelectorAll('#contacts td.verdict')]"
                                   ".some(td => td.textContent.includes('confirmed'))", timeout=30_000)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)
            browser.close()  # the analyst's browser dies mid-pass
        assert wait_for(lambda: feed.pages == 0, 30)
        digitizer.close()  # (a digitizer idle for 10 s is dropped anyway) the rest of the pass on a new link
        with socket.create_connection(("127.0.0.1", daemon.source.address[1])) as digitizer:
            digitizer.sendall(warship_pass[half:].tobytes())
        assert wait_for(lambda: any(e["type"] == "contact_end" for e in read_events(out)), 120)
    finally:
        daemon.request_stop()
        runner.join(timeout=60)
    events = list(read_events(out))
    assert [e["type"] for e in events if e["type"].startswith("contact_")][0] == "contact_start"
    assert sum(e["type"] == "contact_end" for e in events) == sum(e["type"] == "contact_start" for e in events) >= 1
    [v] = VerdictStore(out).latest()
    assert v.verdict == "confirmed" and v.clip
    export_labels(out, tmp_path / "export")
    [row] = read_manifest(tmp_path / "export" / "manifest.csv")
    assert row.source == "analyst" and row.extra["verdict"] == "confirmed" and row.extra["contact"] == v.contact
    assert (ARTIFACTS / "console.png").stat().st_size > 10_000
