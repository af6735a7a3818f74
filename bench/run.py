"""Side-by-side benchmarks: mlcask vs real MLflow, in one run.

    .venv/bin/python bench/run.py [--repeat N] [--only NAME ...] [--markdown] [--json PATH]

Every measurement runs in a fresh child process per tool: MLflow's in its own venv
(``bench.mlflow_env``), mlcask's with this interpreter. Both run the same worker code
(``bench/worker.py``), which imports the tool as ``mlflow``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import ensure_mlflow_python, run_in_mlflow  # noqa: E402
from bench.worker import RESULT_MARKER  # noqa: E402

WORKER = Path(__file__).resolve().parent / "worker.py"
TOOLS = ("mlflow", "mlcask")


@dataclass(frozen=True)
class Item:
    name: str  # what --only matches
    title: str  # the table's row label
    repeat: int  # default repetitions
    target: str = ""  # the goal, shown in the table
    check: Callable[["Row"], bool] | None = None  # is the target met?


@dataclass
class Measurement:
    samples: list[float] = field(default_factory=list)
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Row:
    item: Item
    repeat: int
    results: dict[str, Measurement]

    def value(self, tool: str) -> float | None:
        """Median time in seconds; for predict rows the median overhead (a fraction); for
        autolog rows the overhead in seconds (median autologged fit - median plain fit)."""
        m = self.results[tool]
        if m.error or not m.samples:
            return None
        if "raw" in m.extra:  # predict rows: samples are pyfunc times, extra["raw"] the raw model's
            raw = statistics.median(m.extra["raw"])
            return (m.median - raw) / raw
        if "plain" in m.extra:  # autolog rows: samples are autologged fit times, extra["plain"] plain ones
            return m.median - statistics.median(m.extra["plain"])
        return m.median

    def ratio(self) -> float | None:
        """MLflow / mlcask: how many times faster (or, for predict rows, less overhead) mlcask is."""
        a, b = self.value("mlflow"), self.value("mlcask")
        if a is None or b is None or b <= 0:
            return None
        return a / b


def _overhead_ok(row: Row) -> bool:
    value = row.value("mlcask")
    return value is not None and value <= 0.10


def _overhead_at_most(seconds: float) -> Callable[[Row], bool]:
    return lambda row: (value := row.value("mlcask")) is not None and value <= seconds


def _ratio_at_least(n: float) -> Callable[[Row], bool]:
    return lambda row: (row.ratio() or 0) >= n


ITEMS = [
    Item("startup", "python startup (`python -c pass`, reference)", 7),
    Item("import", "import (whole process)", 7, ">= 10x", _ratio_at_least(10)),
    Item("save-xgboost", "save_model, XGBoost (100 trees)", 5, ">= 20x", _ratio_at_least(20)),
    Item("save-sklearn", "save_model, scikit-learn pipeline", 5),
    Item("load-xgboost", "pyfunc.load_model, XGBoost", 11),
    Item("load-sklearn", "pyfunc.load_model, scikit-learn", 11),
    Item("predict-1", "pyfunc predict overhead, 1 row", 2000, "mlcask <= 10%", _overhead_ok),
    Item("predict-10000", "pyfunc predict overhead, 10,000 rows", 30),
    Item("log-metric", "log_metric in a loop (per call, SQLite store)", 300, ">= 10x", _ratio_at_least(10)),
    Item("log-metrics-1000", "log_metrics, 1,000 keys (per call)", 7, ">= 10x", _ratio_at_least(10)),
    Item("log-model-xgboost", "xgboost.log_model into a run (signature + example)", 3, ">= 20x",
         _ratio_at_least(20)),
    Item("alias-load", "load models:/<name>@<alias> (resolve + load)", 11, "mlcask < 50 ms",
         lambda row: (row.value("mlcask") or 1) < 0.05),
    Item("autolog-xgboost", "autolog overhead, XGBoost fit (with model)", 5, "mlcask +<= 0.3 s",
         _overhead_at_most(0.3)),
    Item("autolog-xgboost-nomodel", "autolog overhead, XGBoost fit (log_models=False)", 7, "mlcask +<= 0.05 s",
         _overhead_at_most(0.05)),
    Item("autolog-sklearn", "autolog overhead, scikit-learn pipeline fit (with model)", 5, "mlcask +<= 0.3 s",
         _overhead_at_most(0.3)),
    Item("autolog-sklearn-nomodel", "autolog overhead, scikit-learn pipeline fit (log_models=False)", 7,
         "mlcask +<= 0.05 s", _overhead_at_most(0.05)),
]


# ---------------------------------------------------------------- running children

def child_env(python: Path) -> dict[str, str]:
    """The environment ``run_in_mlflow`` gives MLflow, built the same way for mlcask."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLCASK_", "MLFLOW_"))}
    env["PATH"] = f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return env


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run_worker(tool: str, bench: str, repeat: int) -> Measurement:
    """Run ``bench/worker.py`` for ``tool`` in a fresh process and collect its samples."""
    with tempfile.TemporaryDirectory(prefix=f"mlcask-bench-{tool}-") as tmp:
        argv = [str(WORKER), tool, bench, str(repeat), str(Path(tmp) / "work")]
        code = (f"import runpy, sys; sys.argv = {argv!r}; "
                f"runpy.run_path({str(WORKER)!r}, run_name='__main__')")
        try:
            if tool == "mlflow":
                stdout = run_in_mlflow(code, cwd=tmp)
            else:
                python = Path(sys.executable)
                env = child_env(python)
                env["MLFLOW_TRACKING_URI"] = "sqlite:///" + str(Path(tmp) / "mlflow-interop.db")
                proc = subprocess.run([str(python), "-c", code], cwd=tmp, env=env,
                                      capture_output=True, text=True, timeout=900)
                if proc.returncode != 0:
                    return Measurement(error=last_line(proc.stderr))
                stdout = proc.stdout
        except RuntimeError as exc:  # run_in_mlflow puts the child's stderr in the message
            return Measurement(error=last_line(str(exc)))
        except subprocess.TimeoutExpired:
            return Measurement(error="timed out")
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        return Measurement(error="worker printed no result")
    result = json.loads(lines[-1][len(RESULT_MARKER):])
    samples = result.pop("pyfunc" if bench.startswith("predict") else "samples", [])
    return Measurement(samples=samples, extra=result)


def python_for(tool: str) -> Path:
    return ensure_mlflow_python() if tool == "mlflow" else Path(sys.executable)


def run_process_timings(repeat: int) -> dict[str, dict[str, Measurement]]:
    """Wall time of whole processes: ``python -c pass`` and ``python -c "import <tool>"``.

    Runs are interleaved (pass/import, MLflow/mlcask) after one unmeasured warm-up each,
    so both tools see the same page cache and machine load.
    """
    commands = {"startup": lambda tool: "pass", "import": lambda tool: f"import {tool}"}
    out: dict[str, dict[str, Measurement]] = {name: {t: Measurement() for t in TOOLS} for name in commands}
    for i in range(repeat + 1):
        for name, make_code in commands.items():
            for tool in TOOLS:
                m = out[name][tool]
                if m.error:
                    continue
                python = python_for(tool)
                start = time.perf_counter_ns()
                proc = subprocess.run([str(python), "-c", make_code(tool)], env=child_env(python),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                elapsed = (time.perf_counter_ns() - start) / 1e9
                if proc.returncode != 0:
                    m.error = last_line(proc.stderr)
                elif i > 0:  # i == 0 is the warm-up
                    m.samples.append(elapsed)
    return out


def tool_versions() -> dict[str, dict[str, Any]]:
    versions = {}
    for tool in TOOLS:
        m = run_worker(tool, "info", 0)
        versions[tool] = m.extra if not m.error else {"error": m.error}
    return versions


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "load_average_start": round(os.getloadavg()[0], 2),
    }
    if "OPENBLAS_CORETYPE" in os.environ:
        info["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    return info


# ---------------------------------------------------------------- formatting

def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def fmt_cell(row: Row, tool: str) -> str:
    m = row.results[tool]
    if m.error:
        error = m.error if len(m.error) <= 60 else m.error[:57] + "..."
        return f"n/a (error: {error})"
    value = row.value(tool)
    if value is None:
        return "n/a"
    if "raw" in m.extra:
        return f"{value:+.0%} ({fmt_time(statistics.median(m.extra['raw']))} -> {fmt_time(m.median)})"
    if "plain" in m.extra:
        plain = statistics.median(m.extra["plain"])
        return f"{'+' if value >= 0 else '-'}{fmt_time(abs(value))} ({fmt_time(plain)} -> {fmt_time(m.median)})"
    return fmt_time(value)


def fmt_ratio(row: Row) -> str:
    ratio = row.ratio()
    if ratio is None:
        mlcask = row.value("mlcask")
        return "no overhead" if mlcask is not None and mlcask <= 0 and row.value("mlflow") else "n/a"
    return f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def fmt_target(row: Row) -> str:
    if not row.item.target:
        return ""
    if row.item.check is None or any(m.error for m in row.results.values()):
        return row.item.target
    return f"{row.item.target}: {'met' if row.item.check(row) else 'MISSED'}"


def table(rows: list[Row], versions: dict[str, dict[str, Any]]) -> list[list[str]]:
    def name(tool: str) -> str:
        v = versions.get(tool, {}).get("packages", {}).get(tool)
        return f"{'MLflow' if tool == 'mlflow' else 'mlcask'} {v}" if v else tool
    header = ["benchmark (median)", name("mlflow"), name("mlcask"), "MLflow / mlcask", "repeats", "target"]
    body = [[r.item.title, fmt_cell(r, "mlflow"), fmt_cell(r, "mlcask"), fmt_ratio(r), str(r.repeat),
             fmt_target(r)] for r in rows]
    return [header, *body]


def render_text(cells: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(cells: list[list[str]]) -> str:
    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
    return "\n".join([line(cells[0]), "|" + "|".join(["---", "--:", "--:", "--:", "--:", "---"]) + "|",
                      *(line(r) for r in cells[1:])])


def compare_outputs(row: Row) -> str | None:
    """A note when the tools did not produce the same thing (model files, predictions)."""
    mlflow, mlcask = row.results["mlflow"].extra, row.results["mlcask"].extra
    if "files" in mlflow and "files" in mlcask and mlflow["files"] != mlcask["files"]:
        only_mlflow = sorted(set(mlflow["files"]) - set(mlcask["files"]))
        only_mlcask = sorted(set(mlcask["files"]) - set(mlflow["files"]))
        return f"- {row.item.name}: model folders differ; only MLflow wrote {only_mlflow}, only mlcask {only_mlcask}"
    bad = [tool for tool in TOOLS if row.results[tool].extra.get("same_predictions") is False]
    if bad:
        return f"- {row.item.name}: pyfunc and raw predictions differ for {', '.join(bad)}"
    return None


def describe_machine(info: dict[str, Any], versions: dict[str, dict[str, Any]]) -> list[str]:
    lines = [f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['platform']}"
             + (f", OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}" if "OPENBLAS_CORETYPE" in info else "")
             + f"; 1-min load average {info['load_average_start']} at start, {info['load_average_end']} at end"]
    if info["load_average_start"] > info["nproc"] / 2 or info["load_average_end"] > info["nproc"]:
        lines.append("warning: the machine was busy with other work during the run; timings are noisy")
    for tool in TOOLS:
        v = versions.get(tool, {})
        if "error" in v:
            lines.append(f"{tool} venv: n/a (error: {v['error']})")
            continue
        packages = ", ".join(f"{k} {val}" for k, val in v.get("packages", {}).items())
        lines.append(f"{tool} venv: Python {v.get('python')} ({v.get('executable')}); {packages}")
    return lines


# ---------------------------------------------------------------- main

def selected(items: list[Item], only: list[str] | None) -> list[Item]:
    if not only:
        return items
    wanted = [o.strip().replace(" ", "-").replace("_", "-").lower() for o in only]
    if "import" in wanted:
        wanted.append("startup")  # the import row is always shown next to bare interpreter startup
    picked = [it for it in items if any(it.name == w or it.name.startswith(w + "-") for w in wanted)]
    if not picked:
        raise SystemExit(f"--only matched nothing; names: {', '.join(it.name for it in items)}")
    return picked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, metavar="N",
                        help="repetitions for every item (default: per item, shown in the table)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this item, or items starting with NAME- (repeatable): "
                             + ", ".join(it.name for it in ITEMS))
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", metavar="PATH", help="also write all samples and results as JSON")
    args = parser.parse_args(argv)
    items = selected(ITEMS, args.only)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    info = machine()
    log("checking the MLflow venv and versions ...")
    versions = tool_versions()
    rows: list[Row] = []
    process_timings: dict[str, dict[str, Measurement]] = {}  # startup and import share one run
    for item in items:
        repeat = args.repeat or item.repeat
        t0 = time.perf_counter()
        if item.name in ("startup", "import"):
            process_timings = process_timings or run_process_timings(repeat)
            results = process_timings[item.name]
        else:
            results = {tool: run_worker(tool, item.name, repeat) for tool in TOOLS}
        row = Row(item, repeat, results)
        rows.append(row)
        log(f"{item.name:<14} mlflow: {fmt_cell(row, 'mlflow')}; mlcask: {fmt_cell(row, 'mlcask')} "
            f"({time.perf_counter() - t0:.0f} s)")
    total = time.perf_counter() - started
    info["load_average_end"] = round(os.getloadavg()[0], 2)
    log(f"done in {total:.0f} s\n")

    cells = table(rows, versions)
    header = describe_machine(info, versions)
    if args.markdown:
        print("\n".join(f"{line}  " for line in header))
        print()
        print(render_markdown(cells))
    else:
        print("\n".join(header))
        print()
        print(render_text(cells))
    print("\nmedians over the repeats; ratio = MLflow median / mlcask median "
          "(predict rows: MLflow overhead % / mlcask overhead %; autolog rows: MLflow overhead / mlcask overhead, "
          "overhead = median autologged fit - median plain fit)")
    errors = [f"- {r.item.name} [{tool}]: {m.error}" for r in rows for tool, m in r.results.items() if m.error]
    if errors:
        print("\nerrors:\n" + "\n".join(errors))
    notes = [note for r in rows if (note := compare_outputs(r))]
    if notes:
        print("\nnotes:\n" + "\n".join(notes))

    if args.json:
        payload = {
            "machine": info,
            "versions": versions,
            "total_seconds": total,
            "items": [{
                "name": r.item.name, "title": r.item.title, "repeat": r.repeat, "target": r.item.target,
                "ratio": r.ratio(),
                **{tool: {"value": r.value(tool), **asdict(m)} for tool, m in r.results.items()},
            } for r in rows],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
