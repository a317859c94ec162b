"""The annotator in a real JupyterLab, in a real headless Chromium: run the example
notebooks, label by clicks and keys, tag an NER span with the mouse, press Next, restart
the kernel, run again, and find every label in the store on disk."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

from labelwise.annotate.store import AnnotationStore

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]

KERNEL_IDLE = """(name) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.context || w.context.path !== name) return false;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return Boolean(k) && k.status === 'idle' && w.sessionContext.isReady;
}"""

# Click "Next iteration" and time it until the DOM shows a different first item.
NEXT_LATENCY = """async () => {
  const root = document.querySelector('.lw-annotator');
  const first = () => root.querySelector('.lw-item')?.getAttribute('data-position');
  const before = first();
  const iterationText = root.querySelector('.lw-progress').textContent;
  const started = performance.now();
  root.querySelector('button.lw-next').click();
  const onScreen = await new Promise((resolve) => {
    if (first() !== before) return resolve(performance.now() - started);
    const observer = new MutationObserver(() => {
      if (first() !== before) { observer.disconnect(); resolve(performance.now() - started); }
    });
    observer.observe(root, { childList: true, subtree: true, attributes: true });
  });
  // The kernel's confirmation: the progress line shows the new iteration.
  const confirmed = await new Promise((resolve) => {
    const check = () => root.querySelector('.lw-progress').textContent !== iterationText
      ? resolve(performance.now() - started) : requestAnimationFrame(check);
    check();
  });
  return { onScreen, confirmed, before, after: first() };
}"""


def open_and_run(page, server, name: str, selector: str) -> None:
    # One workspace per notebook, reset: a second tab must not restore the first one's layout.
    workspace = Path(name).stem
    page.goto(f"{server['url']}/lab/workspaces/{workspace}/tree/{name}?reset&token={server['token']}")
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    page.wait_for_function(KERNEL_IDLE, arg=name, timeout=90_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(selector, timeout=120_000)


def restart_and_run(page, name: str, selector: str) -> None:
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function(KERNEL_IDLE, arg=name, timeout=90_000)
    # Old outputs stay until the cell runs again; clear them so we wait for the new widget.
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_selector(".lw-annotator", state="detached", timeout=30_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(selector, timeout=120_000)


def wait_labeled(item) -> None:
    item.locator(".lw-meta", has_text="✓").wait_for(timeout=30_000)


def test_classification_and_ner_in_a_real_browser(jupyter_server, browser):
    root = jupyter_server["root"]
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    expected: dict[int, str] = {}

    # ---- classification: clicks and keys ------------------------------------------------
    open_and_run(page, jupyter_server, "annotate_classification.ipynb", ".lw-annotator .lw-item")
    items = page.locator(".lw-annotator .lw-item")
    assert items.count() == 10
    for index, name in ((0, "Sports"), (1, "World")):
        item = items.nth(index)
        item.locator("button.lw-label", has_text=name).click()
        wait_labeled(item)
        expected[int(item.get_attribute("data-position"))] = name
    items.nth(2).locator(".lw-text").click()  # make item 2 the active one, focus the widget
    names = ["World", "Sports", "Business", "Sci/Tech"]
    by_key = {index: names[index % 4] for index in range(2, 10)}
    for index in range(2, 10):  # each key labels the active item and moves on to the next
        page.keyboard.press(str(names.index(by_key[index]) + 1))
    for index, name in by_key.items():
        wait_labeled(items.nth(index))
        expected[int(items.nth(index).get_attribute("data-position"))] = name
    selected = [items.nth(i).locator("button.lw-selected").inner_text().split(" ", 1)[1] for i in range(10)]
    assert selected == ["Sports", "World"] + list(by_key.values())

    latencies = []
    for _ in range(3):
        result = page.evaluate(NEXT_LATENCY)
        assert result["after"] != result["before"]
        latencies.append(result)
    print("next-iteration latency (ms):", [(round(r["onScreen"], 1), round(r["confirmed"], 1)) for r in latencies])
    # the new batch came from the queue and is labelable at once, even while training
    first = items.nth(0)
    first.locator("button.lw-label", has_text="World").click()
    wait_labeled(first)
    expected[int(first.get_attribute("data-position"))] = "World"
    # The background fit ends and its held-out score reaches the page.
    page.locator(".lw-progress", has_text="held-out accuracy").wait_for(timeout=180_000)
    assert page.locator(".lw-status.lw-error").count() == 0

    screenshot = root / "annotator.png"
    page.evaluate("() => document.querySelector('.lw-annotator').scrollIntoView()")
    box = page.locator(".lw-annotator").bounding_box()
    page.screenshot(path=str(screenshot), clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": 440})
    if os.environ.get("LABELWISE_UPDATE_SCREENSHOT"):
        shutil.copy(screenshot, REPO / "docs" / "images" / "annotator.png")

    # ---- NER: drag across two tokens, accept ---------------------------------------------
    ner_page = browser.new_page(viewport={"width": 1200, "height": 1000})
    open_and_run(ner_page, jupyter_server, "annotate_ner.ipynb", ".lw-annotator .lw-token")
    sentence = ner_page.locator(".lw-annotator .lw-item").nth(0)
    tokens = sentence.locator(".lw-token")
    ner_page.locator(".lw-entity", has_text="ORG").click()
    tokens.nth(0).hover()
    ner_page.mouse.down()
    tokens.nth(1).hover()
    ner_page.mouse.up()
    tags = [tokens.nth(i).get_attribute("data-tag") for i in range(tokens.count())]
    assert tags[:2] == ["B-ORG", "I-ORG"]
    tokens.nth(0).click()  # a click on an entity removes it ...
    assert tokens.nth(0).get_attribute("data-tag") == "O"
    tokens.nth(0).hover()  # ... and a drag puts it back
    ner_page.mouse.down()
    tokens.nth(1).hover()
    ner_page.mouse.up()
    tags = [tokens.nth(i).get_attribute("data-tag") for i in range(tokens.count())]
    sentence.locator("button.lw-accept").click()
    wait_labeled(sentence)
    ner_position = int(sentence.get_attribute("data-position"))
    ner_page.locator("button.lw-next").click()
    ner_page.wait_for_function("() => !document.querySelector('.lw-progress').textContent.includes('iteration 0')")

    # ---- restart the kernel, run again, everything is still there ------------------------
    restart_and_run(page, "annotate_classification.ipynb", ".lw-annotator .lw-item")
    progress = page.locator(".lw-progress").inner_text()
    assert f"labeled {len(expected)}" in progress and "iteration 3" in progress
    assert page.locator(".lw-annotator .lw-item[data-labeled='true']").count() == 1  # labeled after Next
    restart_and_run(ner_page, "annotate_ner.ipynb", ".lw-annotator .lw-token")
    assert "labeled 1" in ner_page.locator(".lw-progress").inner_text()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no corrupt line either
        store = AnnotationStore(root / "annotations.jsonl", read_only=True)  # the kernel holds the lock
        ner_store = AnnotationStore(root / "ner_annotations.jsonl", read_only=True)
    assert store.labels == expected
    assert ner_store.labels == {ner_position: tags}
    assert store.load_snapshot()["iteration"] == 3
    store.close()
    ner_store.close()
