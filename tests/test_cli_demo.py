"""The demo (scripts/demo runs examples/seed_manual_log_model.py): the README's search finds its run,
and every server URL it prints answers at the moment it is printed."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "seed_manual_log_model.py"
URL = re.compile(r"http://[^\s(),;]+")

pytestmark = pytest.mark.slow


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(DEMO), *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_the_demo_prints_no_url_of_a_server_it_has_stopped(tmp_path):
    demo = _start(str(tmp_path / "out"))
    output = demo.communicate(timeout=600)[0]
    assert demo.returncode == 0, output
    assert "search_runs(\"metrics.accuracy > 0.9 and params.max_depth = '6'\") -> 1 run(s)" in output
    assert URL.findall(output) == [], output
    assert "the scoring server has stopped" in output and "scripts/demo --serve" in output


def test_the_demo_with_serve_prints_urls_only_while_they_answer(tmp_path):
    demo = _start(str(tmp_path / "out"), "--serve")
    lines = []
    try:
        for line in demo.stdout:
            lines.append(line)
            for url in URL.findall(line):
                assert _answers(url), f"printed {url} but it does not answer: {line}"
            if "Ctrl-C" in line:
                break
        else:
            pytest.fail("the demo ended without saying the server is up:\n" + "".join(lines))
        urls = URL.findall(lines[-1])
        assert {url.rsplit("/", 1)[-1] for url in urls} >= {"docs", ""}, lines[-1]
        demo.send_signal(signal.SIGINT)
        rest = demo.communicate(timeout=30)[0]
    finally:
        demo.kill()
    assert demo.returncode == 0 and "the scoring server has stopped" in rest and URL.findall(rest) == [], rest
    assert not any(_answers(url) for url in urls)
