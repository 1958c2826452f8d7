"""The web page in headless Chromium, against a real ``nerkit serve`` on 127.0.0.1.

Needs Debian's Chromium and its driver, and Selenium (in the ``test`` extras)::

    apt-get update && apt-get install -y chromium chromium-driver
    pip install selenium

The test is skipped, with the reason, when ``/usr/bin/chromium`` or ``/usr/bin/chromedriver``
is missing. Selenium Manager never runs (the driver path is given, and ``SE_OFFLINE`` is set),
so nothing is downloaded.

Screenshot for the docs: every run saves ``page.png`` under pytest's temporary folder; with
``NERKIT_SCREENSHOT=1`` it is also copied to ``docs/screenshot.png``. The tiny test model tags
nonsense, so retake it with a real model, which then serves the page instead::

    NERKIT_SCREENSHOT=1 NERKIT_SCREENSHOT_MODEL=path/to/model \\
        python -m pytest tests/test_browser.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).parents[1]

if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
    pytest.skip(
        f"{CHROMIUM} or {CHROMEDRIVER} not found; install them with "
        "`apt-get install -y chromium chromium-driver`",
        allow_module_level=True,
    )
httpx = pytest.importorskip("httpx")
pytest.importorskip("selenium", reason="pip install selenium (in the test extras)")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from nerkit.server.process import ServerProcess, launch_server  # noqa: E402

SENTENCE = "El presidente Felipe González viajó a Madrid para reunirse con la ONU y Telefónica."

# Column files: word first, gold tag last, tabs or spaces; IOB2 in one and BIOES in the other.
CONLL_IOB2 = """-DOCSTART- -X- O

El DA O
presidente NC O
Felipe NP B-PER
González\tNP\tI-PER
viajó VMI O
a SP O
Madrid NP B-LOC
. Fp O

La DA O
ONU NP B-ORG
y CC O
Telefónica NP B-ORG
de SP I-ORG
España NP I-ORG
"""
CONLL_IOB2_SPANS = [
    [("PER", "Felipe González"), ("LOC", "Madrid")],
    [("ORG", "ONU"), ("ORG", "Telefónica de España")],
]
CONLL_BIOES = "😀 S-MISC\nvive O\nen O\nSan B-LOC\nJosé E-LOC\nhoy O\n"
CONLL_BIOES_SPANS = [[("MISC", "😀"), ("LOC", "San José")]]


# ------------------------------------------------------------------ server and browser


@pytest.fixture(scope="module")
def model_dir(request: pytest.FixtureRequest) -> Path:
    """``$NERKIT_SCREENSHOT_MODEL`` (to retake the docs screenshot), else the tiny model."""
    chosen = os.environ.get("NERKIT_SCREENSHOT_MODEL")
    return Path(chosen) if chosen else request.getfixturevalue("tiny_model")


@pytest.fixture(scope="module")
def launched(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``nerkit serve`` started but not yet waited for: Chromium starts while it loads."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    server = launch_server(model_dir, log, "--threads", "1", "--no-access-log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(launched: ServerProcess) -> str:
    """The base URL, once ``/healthz`` answers."""
    return launched.wait_until_healthy()


@pytest.fixture(scope="module")
def browser(launched: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-extensions",
                "--window-size=1200,900", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")  # belt and braces: Selenium Manager must not download
        mp.setenv("SE_AVOID_STATS", "true")
        service = Service(str(CHROMEDRIVER), log_output=str(profile / "chromedriver.log"))
        driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: Any, server: str) -> Any:
    browser.get(server + "/")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#legend li"))
    return browser


def api_entities(server: str, text: str) -> list[dict[str, Any]]:
    response = httpx.post(f"{server}/v1/entities", json={"text": text}, timeout=60,
                          trust_env=False)
    response.raise_for_status()
    return response.json()["entities"]


def marks(container: Any) -> list[dict[str, Any]]:
    """What the page highlighted: label, exact text (textContent), offsets and hover title."""
    return [
        {
            "label": m.get_attribute("data-label"),
            "text": m.get_property("textContent"),
            "start": int(m.get_attribute("data-start")),
            "end": int(m.get_attribute("data-end")),
            "title": m.get_attribute("title"),
        }
        for m in container.find_elements(By.CSS_SELECTOR, "mark.entity[data-label]")
    ]


def wait_state(driver: Any, element_id: str) -> str:
    def settled(d: Any) -> str | bool:
        state = d.find_element(By.ID, element_id).get_attribute("data-state")
        return state if state in ("done", "error") else False

    return WebDriverWait(driver, 60).until(settled)


def tag_on_page(driver: Any, text: str, *, type_it: bool) -> None:
    box = driver.find_element(By.ID, "text")
    if type_it:
        box.clear()
        box.send_keys(text)
    else:  # ChromeDriver cannot type characters outside the BMP (emoji)
        driver.execute_script("arguments[0].value = arguments[1];", box, text)
    driver.find_element(By.ID, "tag").click()
    assert wait_state(driver, "output") == "done"


# ------------------------------------------------------------------ tests


def test_typed_text_is_highlighted_as_the_api_answers(page: Any, server: str) -> None:
    tag_on_page(page, SENTENCE, type_it=True)
    expected = api_entities(server, SENTENCE)
    assert expected, "the model should find something in the test sentence"
    shown = marks(page.find_element(By.ID, "output"))
    assert [(m["label"], m["text"], m["start"], m["end"]) for m in shown] == [
        (e["label"], e["text"], e["start"], e["end"]) for e in expected
    ]
    for mark, entity in zip(shown, expected, strict=True):
        assert mark["title"] == f"{entity['label']} · score {entity['score']:.3f}"
    answer = json.loads(page.find_element(By.ID, "json").get_property("textContent"))
    assert answer == {"entities": expected}
    output_text = page.find_element(By.ID, "output").get_property("textContent")
    assert output_text == SENTENCE  # nothing lost or added around the marks
    types = httpx.get(f"{server}/v1/model", trust_env=False).json()["types"]
    legend = [li.text for li in page.find_elements(By.CSS_SELECTOR, "#legend li")]
    assert legend[: len(types)] == types


def test_offsets_hold_after_an_emoji(page: Any, server: str) -> None:
    text = "😀😀 Ana García y la ONU visitaron Madrid."
    box = page.find_element(By.ID, "text")
    page.execute_script("arguments[0].value = arguments[1];", box, text)
    box.send_keys(Keys.CONTROL, Keys.ENTER)  # the keyboard shortcut tags too
    assert wait_state(page, "output") == "done"
    shown = marks(page.find_element(By.ID, "output"))
    assert [(m["label"], m["text"]) for m in shown] == [
        (e["label"], e["text"]) for e in api_entities(server, text)
    ]


def test_errors_are_shown_not_swallowed(page: Any) -> None:
    box = page.find_element(By.ID, "text")
    page.execute_script("arguments[0].value = 'a'.repeat(100001);", box)
    page.find_element(By.ID, "tag").click()
    assert wait_state(page, "output") == "error"
    status = page.find_element(By.ID, "status")
    assert "413" in status.text and "--max-text-chars" in status.text
    assert "error" in status.get_attribute("class")


def test_chosen_conll_file_shows_gold_entities(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "tiny.conll"
    path.write_text(CONLL_IOB2, encoding="utf-8")
    page.find_element(By.ID, "conll-file").send_keys(str(path))
    assert wait_state(page, "conll-output") == "done"
    sentences = page.find_elements(By.CSS_SELECTOR, "#conll-output .sentence")
    assert [[(m["label"], m["text"]) for m in marks(s)] for s in sentences] == CONLL_IOB2_SPANS
    assert sentences[0].get_property("textContent") == (
        "El presidente Felipe González viajó a Madrid ."
    )
    assert [s.get_attribute("data-line") for s in sentences] == ["3", "12"]
    assert "2 sentences" in page.find_element(By.ID, "conll-summary").text


def test_dropped_conll_file_shows_gold_entities(page: Any) -> None:
    page.execute_script(
        """
        const transfer = new DataTransfer();
        transfer.items.add(new File([arguments[0]], "dropped.conll", {type: "text/plain"}));
        document.getElementById("drop").dispatchEvent(
          new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        """,
        CONLL_BIOES,
    )
    assert wait_state(page, "conll-output") == "done"
    sentences = page.find_elements(By.CSS_SELECTOR, "#conll-output .sentence")
    assert [[(m["label"], m["text"]) for m in marks(s)] for s in sentences] == CONLL_BIOES_SPANS


def test_malformed_conll_file_names_the_line(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.conll"
    path.write_text("El O\nlonely\n", encoding="utf-8")
    page.find_element(By.ID, "conll-file").send_keys(str(path))
    assert wait_state(page, "conll-output") == "error"
    assert "bad.conll:2: expected at least 2 columns" in page.find_element(
        By.ID, "conll-summary"
    ).text


def test_screenshot(page: Any, tmp_path: Path) -> None:
    """A picture of the page with entities; copied to docs/ with NERKIT_SCREENSHOT=1."""
    tag_on_page(page, SENTENCE, type_it=False)
    page.find_element(By.ID, "conll-file").send_keys(str(_write(tmp_path, CONLL_IOB2)))
    assert wait_state(page, "conll-output") == "done"
    shot = tmp_path / "page.png"
    assert page.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("NERKIT_SCREENSHOT"):
        target = ROOT / "docs" / "screenshot.png"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, target)


def _write(folder: Path, content: str) -> Path:
    path = folder / "example.conll"
    path.write_text(content, encoding="utf-8")
    return path
