"""The web app end to end in headless Chromium (Debian's ``chromium``, driven by Playwright's Python
package; no browser is downloaded): open a photo, auto-retouch, read the explanation, move a slider
and see the preview change, download the image and check it decodes at full size. The page's CSP
forbids eval, so the test waits on selectors, never on `wait_for_function`."""
from __future__ import annotations

import io
import shutil
import socket
import threading
from pathlib import Path

import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test-deps installs it)"),
]
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
uvicorn = pytest.importorskip("uvicorn")

PHOTO_SIZE = (1400, 933)
"""Larger than the 1024-pixel preview proxy: the download must be the full resolution, not the proxy."""
PREVIEW_SIGNATURE = """() => {
  const image = document.getElementById("after-image");
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 0; i < data.length; i += 4) sum += data[i] + data[i + 1] + data[i + 2];
  return { src: image.src, width: canvas.width, mean: sum / (data.length / 4 * 3) };
}"""


@pytest.fixture(scope="module")
def server_url():
    """The real app on a free loopback port, served by uvicorn in a background thread."""
    from veraretouch.web import create_app

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the server did not start")
        thread.join(0.05)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    from veraretouch import sample_photo

    path = tmp_path / "coffee.jpg"
    Image.fromarray(sample_photo().pixels).resize(PHOTO_SIZE, Image.BILINEAR).save(path, quality=92)
    return path


def test_open_auto_retouch_nudge_and_download(server_url, photo, tmp_path):
    from veraretouch.io.images import read_image

    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(accept_downloads=True)
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(server_url)
            assert page.locator("#slider-Exposure2012").is_disabled(), "nothing to edit before a photo is open"

            page.set_input_files("#photo-input", str(photo))
            page.wait_for_selector("#compare:not([hidden])")
            assert "1400 × 933" in page.inner_text("#photo-name")

            page.click("#auto-run")
            page.wait_for_selector("#explanation .aspect")
            assert page.locator("#explanation .aspect").count() == 3
            assert "Problem:" in page.inner_text("#explanation") and "Plan:" in page.inner_text("#explanation")
            page.wait_for_selector("body:not(.busy)")
            shown = page.get_attribute("#after-image", "data-source")
            before = page.evaluate(PREVIEW_SIGNATURE)
            assert before["width"] == 1024, "the preview is the downsized proxy"

            page.locator("#slider-Exposure2012").fill("2")
            page.wait_for_selector(f'#after-image:not([data-source="{shown}"])')
            after = page.evaluate(PREVIEW_SIGNATURE)
            assert after["src"] != before["src"]
            assert after["mean"] > before["mean"] + 10, "two stops more exposure brighten the preview"
            assert "Adjusted from the auto edit" in page.inner_text("#sliders-note")
            assert page.locator("#message").is_hidden(), page.inner_text("#message")

            with page.expect_download() as download_info:
                page.click("#download-image")
            download = download_info.value
            assert download.suggested_filename == "coffee-retouched.jpg"
            saved = tmp_path / "downloaded.jpg"
            download.save_as(saved)
            assert read_image(saved).size == PHOTO_SIZE
            assert Image.open(io.BytesIO(saved.read_bytes())).size == PHOTO_SIZE
            assert errors == []
        finally:
            browser.close()


def test_a_bad_file_shows_a_clear_message(server_url, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a photo")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            page.goto(server_url)
            page.set_input_files("#photo-input", str(fake))
            page.wait_for_selector("#message:not([hidden])")
            assert page.inner_text("#message") == "holiday.jpg: not a JPEG, PNG or TIFF image"
        finally:
            browser.close()
