"""The annotator's front end (widget.js + widget.css) in a real headless Chromium, without
JupyterLab: a blank page imports the ES module and renders it against a stub of the anywidget
model. Arabic must run right to left (in the text cards and in the token rows of the NER
view) and Chinese must show real glyphs, not the boxes ("tofu") of a missing font.

``LABELWISE_UPDATE_SCREENSHOTS=1`` also writes the screenshot to docs/images/annotator_rtl.png.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

# As tests/e2e/conftest.py (not importable: tests/ is no package).
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

REPO = Path(__file__).resolve().parents[2]
WIDGET = REPO / "src" / "labelwise" / "annotate"

ARABIC = "هذا نص عربي للتصنيف"
CHINESE = "这是一个中文句子"
LONG_CHINESE = "自然语言处理中的主动学习" * 12  # no spaces: must wrap inside the card
ENGLISH = "An English sentence for comparison"
ARABIC_TOKENS = ["زار", "محمد", "القاهرة", "أمس"]

# Mount the widget twice (a classification view and an NER view) with a stub of the
# anywidget model: get / on / send, the traits widget.py syncs.
MOUNT = """async ({js, css, classification, tagging}) => {
  const style = document.createElement('style');
  style.textContent = css;
  document.head.append(style);
  const module = await import(URL.createObjectURL(new Blob([js], {type: 'text/javascript'})));
  for (const [id, traits] of [['classification', classification], ['tagging', tagging]]) {
    const el = document.createElement('div');
    el.id = id;
    document.body.append(el);
    const model = {get: (name) => traits[name], on: () => {}, send: () => {}};
    module.default.render({model, el});
  }
}"""

# Draw each character alone in the element's own font; a missing glyph draws the same box
# (or nothing) for every character, so distinct characters must give distinct, non-blank bitmaps.
GLYPHS = """([selector, chars]) => {
  const font = getComputedStyle(document.querySelector(selector));
  const canvas = document.createElement('canvas');
  canvas.width = 48; canvas.height = 48;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  return chars.map((ch) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.font = `32px ${font.fontFamily}`;
    ctx.fillStyle = '#000';
    ctx.textBaseline = 'top';
    ctx.fillText(ch, 4, 4);
    const alpha = Array.from(ctx.getImageData(0, 0, 48, 48).data.filter((_, i) => i % 4 === 3));
    return {ink: alpha.filter((a) => a > 0).length, bitmap: alpha.join(',')};
  });
}"""

TEXT_BOX = """(el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const text = range.getBoundingClientRect(), box = el.getBoundingClientRect();
  return {direction: getComputedStyle(el).direction, textLeft: text.left, textRight: text.right,
          left: box.left, right: box.right, width: text.width,
          scrollWidth: el.scrollWidth, clientWidth: el.clientWidth};
}"""


def _item(position: int, **fields) -> dict:
    return {"position": position, "label": None, "skipped": False, "suggestion": None, **fields}


def _traits(task: str, items: list[dict], label_names: list[str]) -> dict:
    return {"task": task, "label_names": label_names, "shortcuts": [str(i + 1) for i in range(len(label_names))],
            "multi_label": False, "items": items, "upcoming": [], "progress": {"labeled": 0, "queue": 5},
            "status": "", "error": "", "stop_signal": {}}


def _cjk_font_installed() -> bool:
    try:
        found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.strip())


@pytest.fixture(scope="module")
def page():
    missing = []
    if CHROMIUM is None:
        missing.append("Debian's chromium (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("playwright (pip install 'labelwise[e2e]')")
    if not _cjk_font_installed():
        missing.append("a CJK font (apt-get install -y fonts-wqy-microhei)")
    if missing:
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true, but the widget script tests cannot run: missing {', '.join(missing)}.",
                        pytrace=False)
        pytest.skip(f"needs {', '.join(missing)}")
    classification = _traits("classification", [
        _item(0, text=ARABIC), _item(1, text=CHINESE), _item(2, text=ENGLISH), _item(3, text=LONG_CHINESE)],
        ["مقال", "新闻", "other"])
    tagging = _traits("tagging", [_item(4, tokens=ARABIC_TOKENS)], ["PER", "LOC"])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 640, "height": 900})
        page.set_content("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>")
        page.evaluate(MOUNT, {"js": (WIDGET / "widget.js").read_text(encoding="utf-8"),
                              "css": (WIDGET / "widget.css").read_text(encoding="utf-8"),
                              "classification": classification, "tagging": tagging})
        page.wait_for_selector("#tagging .lw-token")
        yield page
        browser.close()


def _text(page, position: int):
    return page.locator(f".lw-item[data-position='{position}'] .lw-text")


def test_arabic_text_is_laid_out_right_to_left(page):
    arabic = _text(page, 0).evaluate(TEXT_BOX)
    english = _text(page, 2).evaluate(TEXT_BOX)
    assert arabic["direction"] == "rtl"
    assert english["direction"] == "ltr"
    # text-align: start -> the Arabic line hugs the right edge of its card, English the left.
    assert arabic["right"] - arabic["textRight"] < 2 < arabic["textLeft"] - arabic["left"]
    assert english["textLeft"] - english["left"] < 2 < english["right"] - english["textRight"]


def test_arabic_tokens_run_right_to_left_in_the_ner_view(page):
    row = page.locator("#tagging .lw-tokens")
    assert row.evaluate("(el) => getComputedStyle(el).direction") == "rtl"
    boxes = [page.locator(f"#tagging .lw-token[data-i='{i}']").bounding_box() for i in range(len(ARABIC_TOKENS))]
    lefts = [box["x"] for box in boxes]
    assert lefts == sorted(lefts, reverse=True), f"first token must be rightmost, got x = {lefts}"


def test_chinese_renders_real_glyphs_not_tofu(page):
    chars = sorted(set(CHINESE))
    glyphs = page.evaluate(GLYPHS, [".lw-item[data-position='1'] .lw-text", chars])
    assert all(glyph["ink"] > 30 for glyph in glyphs), "a CJK character drew (almost) nothing"
    assert len({glyph["bitmap"] for glyph in glyphs}) == len(chars), "CJK characters drew the same box (tofu)"
    # The detector does see tofu: two private-use code points have no glyph and draw alike.
    missing = page.evaluate(GLYPHS, [".lw-item[data-position='1'] .lw-text", ["\U000f0000", "\U000f0001"]])
    assert missing[0]["bitmap"] == missing[1]["bitmap"]
    box = _text(page, 1).evaluate(TEXT_BOX)
    assert box["direction"] == "ltr" and box["width"] > len(CHINESE) * 8


def test_long_chinese_line_wraps_inside_its_card(page):
    box = _text(page, 3).evaluate(TEXT_BOX)
    assert box["scrollWidth"] <= box["clientWidth"] + 1


def test_screenshot(page, tmp_path):
    shot = page.locator("body").screenshot(path=str(tmp_path / "annotator_rtl.png"))
    assert len(shot) > 1000
    if os.environ.get("LABELWISE_UPDATE_SCREENSHOTS") == "1":
        (REPO / "docs" / "images").mkdir(parents=True, exist_ok=True)
        (REPO / "docs" / "images" / "annotator_rtl.png").write_bytes(shot)
