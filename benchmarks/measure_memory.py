"""What one workshop seat needs: each lesson's kernel at its peak memory, with the CPU time of a
Run All, and an idle Jupyter server's memory.

Run from the repository root with the project's environment active::

    python benchmarks/measure_memory.py

For each lesson it runs every cell in a fresh kernel (nbclient, as nbval does), then asks the
kernel for its own peak resident set size (``resource.getrusage(...).ru_maxrss``) and the CPU
time it used (user + system, kernel start-up included). For the server
it starts ``jupyter lab --no-browser`` on a free port, waits until it answers, lets it settle for
a few seconds and reads its resident set size from ``/proc/<pid>/status`` (Linux only). Numbers
are MiB (2**20 bytes). They include Python, the libraries each lesson imports and the simulator's
data; they exclude memory shared between processes only in the sense that RSS counts shared
library pages in every process, so the sum over seats slightly overstates what a host needs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PEAK_CELL = ("import resource\n"
             "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
             "print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime)")


def kernel_peak_mib_and_cpu_s(lesson: Path) -> tuple[float, float]:
    notebook = nbformat.read(lesson, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    text = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    peak_kib, cpu_s = text.split()
    return int(peak_kib) / 1024, float(cpu_s)


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def idle_server_mib() -> float:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, JUPYTER_CONFIG_DIR=f"{home}/config",
                   JUPYTER_DATA_DIR=f"{home}/data", JUPYTER_RUNTIME_DIR=f"{home}/runtime")
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
             "--ServerApp.token=measure", f"--ServerApp.root_dir={NOTEBOOKS}", "--allow-root"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/api/status?token=measure"
            for _ in range(120):
                try:
                    json.load(urllib.request.urlopen(url, timeout=2))
                    break
                except OSError:
                    time.sleep(0.5)
            # Opening the Lab page makes the server load the front-end's settings and extensions.
            urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token=measure", timeout=30).read()
            time.sleep(5)
            return rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    for lesson in sorted(NOTEBOOKS.glob("0*.ipynb")):
        peak, cpu = kernel_peak_mib_and_cpu_s(lesson)
        print(f"{lesson.name:40} kernel peak {peak:6.1f} MiB, CPU {cpu:5.1f} s", flush=True)
    print(f"{'idle JupyterLab server':40} resident    {idle_server_mib():6.1f} MiB")


if __name__ == "__main__":
    main()
