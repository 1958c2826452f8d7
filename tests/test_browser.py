"""The web page in headless Chromium, against a real ``nerkit serve`` on 127.0.0.1.

Needs Debian's Chromium and its driver, and Selenium (in the ``test`` extras)::

    apt-get update && apt-get install -y chromium chromium-driver
    pip install selenium

The page's gold-vs-predicted view is checked against :mod:`nerkit.conll.analysis` and against
the HTML that ``nerkit render`` writes (opened from a file).

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


# word gold predicted, as `nerkit evaluate` writes it: every kind of difference, and words that
# must stay text
PREDICTIONS = """\
Ana B-PER B-PER
vive O O
en O O
Banco B-ORG B-ORG
de I-ORG O
<España> I-ORG B-LOC

Hola O B-MISC
& B-LOC B-PER
😀 O O
Real B-ORG B-ORG
Madrid I-ORG I-ORG
y B-LOC I-LOC
Lima I-LOC B-ORG

El B-ORG O
Prado I-ORG B-LOC
abre O I-LOC
hoy B-MISC O
"""


def expected_rows(content: str) -> list[list[tuple[str, list[tuple[str, str, str, bool]]]]]:
    """What a gold-vs-predicted view must show, from nerkit.conll.analysis: per sentence, the
    gold and predicted rows, each (label, text, kind, marked as a difference) in text order."""
    from nerkit.conll.analysis import pair_entities

    blocks = []
    for chunk in content.strip().split("\n\n"):
        rows = [line.split() for line in chunk.splitlines()]
        words = [r[0] for r in rows]
        pairs = pair_entities([r[1] for r in rows], [r[2] for r in rows])
        block = []
        for side, name in (("gold", "gold"), ("pred", "predicted")):
            spans = sorted(((getattr(p, side), p.kind) for p in pairs if getattr(p, side)),
                           key=lambda item: item[0][1])
            block.append((name, [(span[0], " ".join(words[span[1]:span[2]]), kind,
                                  kind != "correct") for span, kind in spans]))
        blocks.append(block)
    return blocks


def compare_rows(driver: Any) -> list[list[tuple[str, list[tuple[str, str, str, bool]]]]]:
    """The gold-vs-predicted blocks drawn in ``driver``'s page, as :func:`expected_rows`."""
    blocks = []
    for block in driver.find_elements(By.CSS_SELECTOR, ".nerkit-compare"):
        rows = []
        for row in block.find_elements(By.CSS_SELECTOR, ".nerkit-doc"):
            found = [
                (m.get_attribute("data-label"), m.get_property("textContent"),
                 m.get_attribute("data-kind"), "diff" in m.get_attribute("class").split())
                for m in row.find_elements(By.CSS_SELECTOR, "mark.entity")
            ]
            rows.append((row.get_attribute("data-row"), found))
        blocks.append(rows)
    return blocks


def count_blocks(driver: Any) -> int:
    """Gold-vs-predicted blocks drawn, counted in one call (a redraw cannot make it stale)."""
    return driver.execute_script(
        "return document.querySelectorAll('#conll-output .nerkit-compare').length"
    )


def choose_file(driver: Any, folder: Path, name: str, content: str) -> None:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    driver.find_element(By.ID, "conll-file").send_keys(str(path))
    assert wait_state(driver, "conll-output") == "done"


def test_predictions_file_shows_gold_vs_predicted(page: Any, tmp_path: Path) -> None:
    choose_file(page, tmp_path, "test_predictions.txt", PREDICTIONS)
    expected = expected_rows(PREDICTIONS)
    assert compare_rows(page) == expected
    kinds = {kind for block in expected for _, row in block for _, _, kind, _ in row}
    assert kinds == {"correct", "wrong_type", "wrong_boundary", "wrong_type_and_boundary",
                     "missed", "spurious"}
    blocks = page.find_elements(By.CSS_SELECTOR, "#conll-output .nerkit-compare")
    assert [b.get_attribute("data-line") for b in blocks] == ["1", "8", "16"]
    for row in blocks[1].find_elements(By.CSS_SELECTOR, ".nerkit-doc"):
        assert row.get_property("textContent") == "Hola & 😀 Real Madrid y Lima"
    summary = page.find_element(By.ID, "conll-summary").text
    assert "gold (column 2) vs predicted (column 3): 7 gold entities, 9 predicted" in summary
    # the differences are drawn: an outline around each, none around correct entities
    for mark in page.find_elements(By.CSS_SELECTOR, "#conll-output mark.entity"):
        outline = mark.value_of_css_property("outline-style")
        assert (outline != "none") == (mark.get_attribute("data-kind") != "correct")


def test_render_draws_what_the_page_draws(page: Any, tmp_path: Path) -> None:
    """`nerkit render` of a predictions file, opened in the browser, shows the same blocks."""
    from nerkit.cli import main

    choose_file(page, tmp_path, "p.txt", PREDICTIONS)
    on_page = compare_rows(page)
    html = tmp_path / "p.html"
    assert main(["render", "--input", str(tmp_path / "p.txt"), "--format", "conll",
                 "--html", str(html)]) == 0
    page.get(html.as_uri())
    assert compare_rows(page) == on_page == expected_rows(PREDICTIONS)
    marks = page.find_elements(By.CSS_SELECTOR, "mark.entity")
    assert {(m.get_attribute("data-kind"), m.value_of_css_property("outline-style") != "none")
            for m in marks} >= {("correct", False), ("spurious", True)}


def test_differences_only_and_column_choice(page: Any, tmp_path: Path) -> None:
    content = PREDICTIONS + "\nTodo O O\nbien B-PER B-PER\n"
    choose_file(page, tmp_path, "p.txt", content)
    assert len(compare_rows(page)) == 4
    page.find_element(By.ID, "conll-errors-only").click()
    WebDriverWait(page, 30).until(lambda d: count_blocks(d) == 3)
    assert "showing the 3 sentences with one" in page.find_element(By.ID, "conll-summary").text
    # the last column alone, read as gold: no comparison
    page.execute_script(
        "const s = document.getElementById('conll-columns'); s.value = 'gold';"
        "s.dispatchEvent(new Event('change'));"
    )
    WebDriverWait(page, 30).until(lambda d: count_blocks(d) == 0)
    sentences = page.find_elements(By.CSS_SELECTOR, "#conll-output .sentence")
    assert [(m["label"], m["text"]) for m in marks(sentences[0])] == [
        ("PER", "Ana"), ("ORG", "Banco"), ("LOC", "<España>"),
    ]
    assert "gold entities (column 3)" in page.find_element(By.ID, "conll-summary").text


def test_saved_predictions_are_drawn(page: Any, tmp_path: Path) -> None:
    records = [
        {"text": "😀 Ana García vive en <Lima>.", "entities": [
            {"text": "Ana García", "label": "PER", "start": 2, "end": 12, "score": 0.9},
            {"text": "<Lima>", "label": "LOC", "start": 21, "end": 27, "score": 0.8}]},
        {"text": "Nada.", "entities": []},
    ]
    choose_file(page, tmp_path, "saved.jsonl",
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    docs = page.find_elements(By.CSS_SELECTOR, "#conll-output .sentence")
    assert [[(m["label"], m["text"], m["start"], m["end"]) for m in marks(d)] for d in docs] == [
        [(e["label"], e["text"], e["start"], e["end"]) for e in r["entities"]] for r in records
    ]
    assert [d.get_property("textContent") for d in docs] == [r["text"] for r in records]
    assert "2 documents" in page.find_element(By.ID, "conll-summary").text


def test_bad_saved_predictions_name_the_line(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "entities": []}\n{"text": "Ana", "entities": '
                    '[{"label": "PER", "start": 0, "end": 9}]}\n', encoding="utf-8")
    page.find_element(By.ID, "conll-file").send_keys(str(path))
    assert wait_state(page, "conll-output") == "error"
    assert "bad.jsonl:2: entity PER [0, 9) does not fit the text" in page.find_element(
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
