"""Turning classified test records into the summary, the JSON and the per-test report."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from mlflow_parity.rules import CLASSES, DIFFERENT, MISSING, SET_ASIDE, normalise

COLUMNS = ("tests", *CLASSES)


def counts_by_module(tests: list[dict[str, Any]]) -> dict[str, Counter]:
    by_module: dict[str, Counter] = defaultdict(Counter)
    for test in tests:
        by_module[test["module"]]["tests"] += 1
        by_module[test["module"]][test["class"]] += 1
    return dict(sorted(by_module.items()))


def top_missing(tests: list[dict[str, Any]]) -> list[tuple[str, int, list[str]]]:
    """Missing names, most tests first: (name, number of tests, test ids)."""
    ids: dict[str, list[str]] = defaultdict(list)
    for test in tests:
        if test["class"] == MISSING:
            ids[test.get("name") or test["reason"]].append(test["id"])
    return sorted(((name, len(v), v) for name, v in ids.items()), key=lambda t: (-t[1], t[0]))


def top_reasons(tests: list[dict[str, Any]], cls: str) -> list[tuple[str, int, list[str]]]:
    """Distinct reasons (paths and ids blanked) of one class, most tests first."""
    ids: dict[str, list[str]] = defaultdict(list)
    for test in tests:
        if test["class"] == cls:
            ids[normalise(test["reason"])].append(test["id"])
    return sorted(((reason, len(v), v) for reason, v in ids.items()), key=lambda t: (-t[1], t[0]))


def _table(by_module: dict[str, Counter]) -> list[str]:
    width = max([len(m) for m in by_module] + [len("TOTAL")])
    header = f"{'module':<{width}}  " + "  ".join(f"{c:>9}" for c in COLUMNS)
    lines = [header, "-" * len(header)]
    total: Counter = Counter()
    for module, counts in by_module.items():
        total.update(counts)
        lines.append(f"{module:<{width}}  " + "  ".join(f"{counts.get(c, 0):>9}" for c in COLUMNS))
    lines.append("-" * len(header))
    lines.append(f"{'TOTAL':<{width}}  " + "  ".join(f"{total.get(c, 0):>9}" for c in COLUMNS))
    return lines


def _ranked(title: str, rows: list[tuple[str, int, list[str]]], limit: int, examples: int) -> list[str]:
    lines = ["", title]
    for name, count, ids in rows[:limit]:
        lines.append(f"  {count:4d}  {name}")
        for test_id in ids[:examples]:
            lines.append(f"          e.g. {test_id}")
    return lines


def summary_text(tests: list[dict[str, Any]], meta: dict[str, Any], collect_errors: list[dict[str, Any]]) -> str:
    by_module = counts_by_module(tests)
    total = Counter(t["class"] for t in tests)
    lines = [f"MLflow parity run: {meta.get('finished', '?')} (mlcask {meta.get('mlcask_commit', '?')})",
             f"tests from {meta.get('tests_source', '?')}",
             *([f"scope: Spark in (--spark, master {meta.get('spark_master', '?')})"] if meta.get("spark") else []),
             f"modules done: {meta.get('modules_done', '?')} of {meta.get('modules_total', '?')}"
             + (f" in {meta['elapsed_s']} s" if "elapsed_s" in meta else ""),
             "",
             f"passed {total[CLASSES[0]]}, missing {total[MISSING]}, different {total[DIFFERENT]}, "
             f"set-aside {total[SET_ASIDE]}; missing-or-different {total[MISSING] + total[DIFFERENT]}; "
             f"total {len(tests)}",
             "", *_table(by_module)]
    if collect_errors:
        lines += ["", "collection errors (module or class not collected: its tests are not counted):"]
        lines += [f"  {e['nodeid']}: {e['reason']}" for e in collect_errors]
    lines += _ranked("top missing names (tests):", top_missing(tests), 40, 2)
    lines += _ranked("top 'different' reasons (tests):", top_reasons(tests, DIFFERENT), 40, 3)
    lines += _ranked("top set-aside reasons (tests):", top_reasons(tests, SET_ASIDE), 25, 0)
    return "\n".join(lines) + "\n"


def write(out: Path, tests: list[dict[str, Any]], meta: dict[str, Any], collect_errors: list[dict[str, Any]],
          summary_name: str = "summary.txt") -> None:
    """Write ``summary_name``, ``results.json``, ``tests.txt`` and ``modules/<module>.txt`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / summary_name).write_text(summary_text(tests, meta, collect_errors), encoding="utf-8")
    by_module = counts_by_module(tests)
    payload = {"meta": meta, "totals": dict(Counter(t["class"] for t in tests)),
               "modules": {m: dict(c) for m, c in by_module.items()},
               "top_missing": [{"name": n, "tests": c, "ids": ids} for n, c, ids in top_missing(tests)],
               "collect_errors": collect_errors, "tests": tests}
    json_name = "results.json" if summary_name == "summary.txt" else summary_name.replace(".txt", ".json")
    (out / json_name).write_text(json.dumps(payload, indent=1), encoding="utf-8")
    width = max([len(c) for c in CLASSES])
    (out / "tests.txt").write_text("".join(
        f"{t['class']:<{width}}  {t['id']}  {t['reason']}\n" for t in tests), encoding="utf-8")
    modules_dir = out / "modules"
    modules_dir.mkdir(exist_ok=True)
    for module in by_module:
        failing = [t for t in tests if t["module"] == module and t["class"] in (MISSING, DIFFERENT)]
        name = module.replace("/", "__").removesuffix(".py") + ".txt"
        (modules_dir / name).write_text("".join(
            f"{t['class']:<{width}}  {t['id']}  {t['reason']}\n" for t in failing), encoding="utf-8")
