"""A green CI must mean the browser tests ran: missing chromium fails CI, not skips."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _conftest():
    import importlib.util

    spec = importlib.util.spec_from_file_location("e2e_conftest_under_test", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_chromium_fails_in_ci_and_skips_elsewhere(monkeypatch):
    conftest = _conftest()
    monkeypatch.setattr(conftest, "CHROMIUM", None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium"):
        conftest.require_e2e()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="chromium"):
        conftest.require_e2e()


def test_ci_run_exits_nonzero_when_chromium_cannot_be_installed(tmp_path):
    # A PATH with no chromium, an apt-get that fails and a make that only records its call.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "id"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    (bin_dir / "apt-get").write_text("#!/bin/sh\nexit 100\n")
    (bin_dir / "sudo").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "make").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'make_calls'}\n")
    for script in ("apt-get", "sudo", "make"):
        (bin_dir / script).chmod(0o755)
    result = subprocess.run([shutil.which("bash"), str(REPO / ".ci" / "run")], cwd=REPO, capture_output=True,
                            text=True, env={"PATH": str(bin_dir), "HOME": str(tmp_path)}, timeout=60)
    assert result.returncode != 0
    assert "chromium" in result.stderr
    assert not (tmp_path / "make_calls").exists()  # no test run that would skip the browser tests
