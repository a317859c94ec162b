"""A real JupyterLab server and a real headless Chromium (Debian's, driven by playwright)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def missing_requirements() -> str | None:
    missing = []
    if CHROMIUM is None:
        missing.append("Debian's chromium (apt-get install -y chromium)")
    for module, hint in (("playwright", "pip install 'labelwise[e2e]'"), ("jupyterlab", "pip install 'labelwise[e2e]'"),
                         ("anywidget", "pip install 'labelwise[annotate]'")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"{module} ({hint})")
    return ", ".join(missing) if missing else None


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_e2e() -> None:
    """Skip the browser tests when something they need is missing, except in CI
    (``CI=true``): there a skip would let a green run hide that the browser never ran."""
    reason = missing_requirements()
    if reason is None:
        return
    if running_in_ci():
        pytest.fail(f"CI=true, but the browser tests cannot run: missing {reason}. Install it "
                    "(.ci/run installs chromium; make install the e2e extra).", pytrace=False)
    pytest.skip(f"e2e needs {reason}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory):
    require_e2e()
    root = tmp_path_factory.mktemp("lab")
    for name in ("annotate_classification.ipynb", "annotate_ner.ipynb"):
        shutil.copy(REPO / "examples" / name, root / name)
    port, token = _free_port(), "labelwise-e2e-token"
    # No "would you like news?" toast over the widget.
    settings = root / ".jupyter-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "JUPYTER_CONFIG_DIR": str(root / ".jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(root / ".jupyter-runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".jupyter-settings")}
    log = open(root / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate", "--ServerApp.port_retries=0", "--no-browser",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).read()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start; see {root / 'server.log'}:\n"
                            + (root / "server.log").read_text()[-3000:])
            time.sleep(0.3)
    yield {"url": url, "token": token, "root": root}
    server.terminate()
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser(jupyter_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
