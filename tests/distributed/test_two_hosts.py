"""Two hosts: a scheduler and a worker in one network namespace, a worker in another, joined
by a veth pair (10.200.0.1 <-> 10.200.0.2, addresses assigned only inside the namespaces, so
no traffic leaves them). A client inside the first namespace runs AL iterations through
``ActiveLearner(cluster="tcp://10.200.0.1:PORT")`` and the same iterations in one process;
the picks must be equal.

Needs root and ``ip`` (iproute2); skipped with the reason where namespaces cannot be
created (also under CI: a container may forbid them).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("distributed")

pytestmark = pytest.mark.processes

HOST_A, HOST_B = "10.200.0.1", "10.200.0.2"
# Each namespace is new and empty, so any port is free in it.
PORT = 8786
STEP_TIMEOUT_S = 20
CLIENT_TIMEOUT_S = 300

CLIENT_SCRIPT = """
import json, sys
import numpy as np
from distributed import Client
from labelwise.data import load_ag_news_sample
from labelwise.distributed.worker import loads_here
from labelwise.loop import ActiveLearner
from labelwise.models import TfidfLogisticRegression

address, out = sys.argv[1], sys.argv[2]
train, _ = load_ag_news_sample()
pool = train.subset(range(300))


def run(cluster):
    learner = ActiveLearner(TfidfLogisticRegression(progress=False, max_features=2000, embedding_dim=8),
                            pool.without_labels(), "entropy", random_state=7, cluster=cluster)
    picks = []
    for _ in range(2):  # iteration 0: cold start (random); iteration 1: entropy scored on the workers
        selection = learner.query(8)
        picks.append(selection.indices.tolist())
        learner.teach(selection.indices, pool.labels[selection.indices])
    return picks


with Client(address, timeout=60) as client:
    client.wait_for_workers(2, timeout=120)
    remote = run(client)
    workers = client.scheduler_info()["workers"]
    report = {"remote": remote, "local": run(None),
              "worker_hosts": sorted(info["host"] for info in workers.values()),
              "loads": {address: len(loads) for address, loads in client.run(loads_here).items()}}
with open(out, "w") as handle:
    json.dump(report, handle)
"""


def _ip(*args: str, netns: str | None = None) -> None:
    command = ["ip", *args] if netns is None else ["ip", "netns", "exec", netns, "ip", *args]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)


def _namespaces_or_skip(names: tuple[str, str]) -> None:
    if shutil.which("ip") is None:
        pytest.skip("two-host test: the `ip` command (iproute2) is not installed")
    if os.geteuid() != 0:
        pytest.skip("two-host test: creating network namespaces needs root")
    try:
        _ip("netns", "add", names[0])
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        reason = getattr(error, "stderr", "") or str(error)
        pytest.skip(f"two-host test: network namespaces cannot be created here ({reason.strip()})")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STEP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STEP_TIMEOUT_S)


def test_one_al_iteration_on_two_hosts_equals_one_process(tmp_path):
    tag = uuid.uuid4().hex[:6]
    ns_a, ns_b = f"lw17a-{tag}", f"lw17b-{tag}"
    _namespaces_or_skip((ns_a, ns_b))
    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    processes: list[subprocess.Popen] = []
    created = [ns_a]
    try:
        _ip("netns", "add", ns_b)
        created.append(ns_b)
        # The veth pair is created inside ns_a with its peer in ns_b: it never exists outside them.
        _ip("link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b", "netns", ns_b, netns=ns_a)
        for ns, device, address in ((ns_a, "veth-a", HOST_A), (ns_b, "veth-b", HOST_B)):
            _ip("link", "set", "lo", "up", netns=ns)
            _ip("addr", "add", f"{address}/24", "dev", device, netns=ns)
            _ip("link", "set", device, "up", netns=ns)
        scheduler = f"tcp://{HOST_A}:{PORT}"

        def start(ns: str, *args: str) -> None:
            log = open(tmp_path / f"{ns}-{len(processes)}.log", "w")  # noqa: SIM115 - closed with the process
            processes.append(subprocess.Popen(["ip", "netns", "exec", ns, dask, *args], stdout=log,
                                              stderr=subprocess.STDOUT, env=env, start_new_session=True))

        start(ns_a, "scheduler", "--host", HOST_A, "--port", str(PORT), "--no-dashboard")
        for ns, host in ((ns_a, HOST_A), (ns_b, HOST_B)):
            start(ns, "worker", scheduler, "--host", host, "--nthreads", "1", "--no-nanny", "--no-dashboard")
        script = tmp_path / "client.py"
        script.write_text(CLIENT_SCRIPT)
        out = tmp_path / "result.json"
        started = time.time()
        finished = subprocess.run(["ip", "netns", "exec", ns_a, sys.executable, str(script), scheduler, str(out)],
                                  capture_output=True, text=True, env=env, timeout=CLIENT_TIMEOUT_S, cwd=tmp_path)
        logs = "\n".join(f"--- {path.name}\n{path.read_text()[-2000:]}" for path in sorted(tmp_path.glob("*.log")))
        assert finished.returncode == 0, (f"client failed after {time.time() - started:.0f} s:\n"
                                          f"{finished.stderr[-4000:]}\n{logs}")
        report = json.loads(out.read_text())
    finally:
        for process in processes:
            _stop(process)
        for ns in created:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=STEP_TIMEOUT_S)
    assert report["worker_hosts"] == [HOST_A, HOST_B]
    assert report["remote"] == report["local"]
    assert len(report["remote"][1]) == 8
    assert sum(report["loads"].values()) >= 1  # the entropy iteration's model reached the workers
