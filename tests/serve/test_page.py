"""The search page in a real browser against a real `selfsim serve`: search by an edited
copy, open the match, compare two files, duplicates, add; and a phone-sized viewport.

Drives Debian's Chromium (/usr/bin/chromium) with Playwright; never downloads a browser.
SELFSIM_SCREENSHOT=1 writes docs/serve-page.png (with real photos, where the Debian
wallpaper packages can be fetched); otherwise screenshots go to a temporary folder.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import FIXTURES, make_picture  # noqa: E402

from selfsim.index import Index, sync  # noqa: E402
from selfsim.search import model_ref  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = os.environ.get("SELFSIM_SCREENSHOT") == "1"
TOKEN = "page-test-token"
VERDICT = "['MATCH', 'NO MATCH', 'Failed'].includes(document.querySelector('#match-verdict').textContent)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser test skipped: playwright is not installed (pip install playwright; "
                    "the browser comes from Debian: apt-get install chromium chromium-driver)")
    if not CHROMIUM.exists():
        pytest.skip(f"browser test skipped: {CHROMIUM} not found (apt-get install chromium chromium-driver; "
                    "or run `make test` as root, which installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


def _edit(img: Image.Image) -> Image.Image:
    """A copy as found in the wild: cropped, turned a little, resized."""
    w, h = img.size
    crop = img.convert("RGB").crop((w // 10, h // 20, w - w // 15, h - h // 8))
    return crop.rotate(8, resample=Image.Resampling.BICUBIC).resize((crop.width * 5 // 4, crop.height * 5 // 4))


def _pictures(folder: Path, work: Path) -> tuple[Path, str]:
    """The indexed pictures, and a query (an edited copy of one of them) with its name."""
    folder.mkdir(parents=True)
    for name in ("baboon.jpg", "orange.jpg"):
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    Image.open(FIXTURES / "orange.jpg").resize((150, 150)).save(folder / "orange-small.jpg", quality=70)
    original = folder / "baboon.jpg"
    if SCREENSHOT and _photos(folder):  # real photos look better in the docs
        original = folder / "LadyBird.jpg"
    else:
        for i in range(6):
            make_picture(i).save(folder / f"gen{i}.png")
    query = work / f"copy-of-{original.stem}.jpg"
    _edit(Image.open(original)).save(query, quality=80)
    return query, original.name


def _photos(folder: Path) -> bool:
    """Debian's mate-backgrounds nature photos into ``folder``, where they can be had."""
    try:
        from selfsim.data.samples import photo_files

        files = [f for f in photo_files(("mate-backgrounds",)) if f.parent.name == "nature"]
    except Exception as e:  # noqa: BLE001 - the test pictures will do
        print(f"no sample photos for the screenshot ({e}); using the test pictures")
        return False
    for f in files:
        with Image.open(f) as im:
            im = im.convert("RGB")
            im.thumbnail((800, 800), Image.Resampling.LANCZOS)
            im.save(folder / f"{f.stem}.jpg", quality=88)
    return (folder / "LadyBird.jpg").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(browser: Any, encoder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real `selfsim serve` (with a token, so adding works) over a small index."""
    work = tmp_path_factory.mktemp("page")
    query, expected = _pictures(work / "photos", work)
    idx = work / "idx"
    with Index.create(idx, model_ref(encoder)) as index:  # as `selfsim index` makes it
        assert sync(index, encoder, [work / "photos"]).embedded == len(os.listdir(work / "photos"))
    port = _free_port()
    log = open(work / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "selfsim.cli.main", "serve", "--index", str(idx),
                             "--port", str(port), "-q"], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "SELFSIM_TOKEN": TOKEN})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{(work / 'server.log').read_text(errors='replace')}")
            time.sleep(0.25)
        yield {"base": base, "query": query, "expected": expected, "work": work}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _page(browser: Any, site: dict[str, Any], width: int, height: int) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site["base"])
    page.wait_for_function("/\\d+ images?/.test(document.querySelector('#info').textContent)")
    return page, errors


def _search(page: Any, site: dict[str, Any]) -> None:
    page.set_input_files("#query-input", str(site["query"]))
    page.wait_for_selector(".hit[data-id]")


def test_search_match_compare_dedup_add(browser: Any, site: dict[str, Any]) -> None:
    page, errors = _page(browser, site, 1280, 800)
    assert "model default" in page.inner_text("#info")
    images = int(page.inner_text("#info").split(" images")[0].split()[-1])
    # search with verification: the original is the top hit, verified
    page.check("#verify")
    _search(page, site)
    top = page.locator(".hit").first
    assert top.locator(".name").inner_text() == site["expected"]
    assert top.locator(".badge").inner_text() == "verified"
    assert page.locator(".hit img").first.get_attribute("alt") == site["expected"]
    page.wait_for_function("[...document.querySelectorAll('.hit img')].every(i => i.complete && i.naturalWidth)")

    # the match view: MATCH, with lines and regions drawn
    top.click()
    page.wait_for_function(VERDICT)
    assert page.inner_text("#match-verdict") == "MATCH"
    assert "inliers" in page.inner_text("#match-details") and page.inner_text("#match-reason")
    page.wait_for_function("document.querySelector('#match-b').complete")
    painted = page.evaluate("""() => {
        const c = document.querySelector('#match-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
    assert painted > 1000
    shot = page.screenshot(full_page=True)
    if SCREENSHOT:
        img = Image.open(io.BytesIO(shot)).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
        (REPO / "docs").mkdir(exist_ok=True)
        img.save(REPO / "docs" / "serve-page.png", optimize=True)
    else:
        (site["work"] / "serve-page.png").write_bytes(shot)
    page.keyboard.press("Escape")
    assert page.locator("#match-view").is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('hit')")  # focus back on the hit

    # tabs by keyboard, then Compare: the same picture and an edited copy; then two different ones
    page.focus("#tab-search")
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#tab-compare", "aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == "tab-compare"
    photos = site["work"] / "photos"
    page.set_input_files("#compare-a", str(photos / site["expected"]))
    page.set_input_files("#compare-b", str(site["query"]))
    page.click("#compare-go")
    page.wait_for_function(VERDICT)
    assert page.inner_text("#match-verdict") == "MATCH"
    page.set_input_files("#compare-b", str(photos / "orange.jpg"))
    page.click("#compare-go")
    page.wait_for_function(VERDICT)
    assert page.inner_text("#match-verdict") == "NO MATCH"

    # duplicates: the orange and its smaller copy, the keeper marked
    page.click("#tab-dedup")
    page.wait_for_selector("#groups .group")
    group = page.locator(".group", has_text="orange-small.jpg")
    assert group.locator(".member").count() == 2 and group.locator(".member.keeper").count() == 1

    # an API error is shown as an alert
    page.click("#tab-search")
    bad = site["work"] / "notes.jpg"
    bad.write_text("not a picture")
    page.set_input_files("#query-input", str(bad))
    alert = page.locator("[role=alert]")
    alert.wait_for(state="visible")
    assert alert.inner_text().strip()

    # add: a wrong token is refused; the right one (kept for the session) adds the picture
    page.click("#tab-add")
    new = site["work"] / "new-picture.png"
    make_picture(42).save(new)
    page.fill("#token", "wrong-token")
    page.set_input_files("#add-files", str(new))
    page.click("#add-go")
    page.wait_for_function("document.querySelector('#error-text').textContent.includes('token')")
    page.fill("#token", TOKEN)
    page.click("#add-go")
    page.wait_for_selector("#added .member")
    assert "new-picture.png" in page.inner_text("#added")
    assert page.evaluate("sessionStorage.getItem('selfsim-token')") == TOKEN
    page.wait_for_function(f"document.querySelector('#info').textContent.includes(' {images + 1} images')")
    assert errors == []
    page.close()


def test_read_only_server_disables_adding(browser: Any, site: dict[str, Any]) -> None:
    page = browser.new_page()

    def read_only(route: Any) -> None:
        info = route.fetch().json()
        route.fulfill(json={**info, "writable": False})

    page.route("**/v1/info", read_only)
    page.goto(site["base"])
    page.wait_for_selector("#readonly-note", state="visible")
    assert page.is_disabled("#tab-add") and "--token" in page.inner_text("#readonly-note")
    page.close()


def test_phone_viewport(browser: Any, site: dict[str, Any]) -> None:
    page, errors = _page(browser, site, 390, 844)
    _search(page, site)
    assert page.locator("#hits").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    boxes = [page.locator(".hit").nth(i).bounding_box() for i in range(2)]
    assert all(b["x"] + b["width"] <= 390 for b in boxes)
    page.locator(".hit").first.click()
    page.wait_for_function(VERDICT)
    page.wait_for_function("[...document.querySelectorAll('.pair img')].every(i => i.complete && i.naturalWidth)")
    stacked = "(([a, b]) => b.top >= a.bottom)([...document.querySelectorAll('.pair img')].map(i => i.getBoundingClientRect()))"
    assert page.evaluate(stacked)  # one above the other, not side by side
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    if not SCREENSHOT:
        page.screenshot(path=str(site["work"] / "serve-page-phone.png"), full_page=True)
    assert errors == []
    page.close()
