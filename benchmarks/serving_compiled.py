"""The compiled (ONNX) version's goals in the serving benchmark: against the scikit-learn
version and MLflow in the same run."""

from __future__ import annotations

from typing import Any

from harness.report import yes

RATIO_GOAL = 3.0  # x the scikit-learn version's req/s at 16 connections
P99_GOAL_MS = 20.0
ONE_CONNECTION_P50_MS = 1.5
MLFLOW_RATIO_GOAL = 100.0


def _best(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(runs, key=lambda r: r["c16"]["per_second"]) if runs else None


def compiled_goals(result: dict[str, Any]) -> dict[str, Any] | None:
    runs = [r for r in result["runs"] if not r["diagnostic"]]
    compiled = _best([r for r in runs if r.get("compiled")])
    source = _best([r for r in runs if r["tool"] == "modelyard" and not r.get("compiled")])
    if compiled is None or source is None:
        return None
    mlflow = _best([r for r in runs if r["tool"] == "MLflow"])
    one = next((r for r in runs if r.get("compiled") and r["workers"] == 1), None)
    rate = compiled["c16"]["per_second"]
    out: dict[str, Any] = {
        "per_second": rate,
        "workers": compiled["workers"],
        "p99_ms": compiled["c16"]["p99_ms"],
        "source_per_second": source["c16"]["per_second"],
        "ratio": rate / source["c16"]["per_second"],
        "one_connection_p50_ms": one["c1"]["p50_ms"] if one and "c1" in one else None,
        "mlflow_per_second": mlflow["c16"]["per_second"] if mlflow else None,
        "compile": result["modelyard_deployment"].get("compiled"),
    }
    out["met"] = {
        "ratio": out["ratio"] >= RATIO_GOAL,
        "p99": out["p99_ms"] <= P99_GOAL_MS,
        "one_connection": out["one_connection_p50_ms"] is not None
        and out["one_connection_p50_ms"] <= ONE_CONNECTION_P50_MS,
    }
    if mlflow:
        out["mlflow_ratio"] = rate / mlflow["c16"]["per_second"]
        out["met"]["mlflow"] = out["mlflow_ratio"] >= MLFLOW_RATIO_GOAL
    return out


def compiled_lines(result: dict[str, Any]) -> list[str]:
    g = result.get("goals", {}).get("compiled")
    if not g:
        return []
    made = g["compile"] or {}
    checks = made.get("verification") or {}
    precision = checks.get("compiled.input_precision", "?")
    lines = [
        "### Compiled to ONNX",
        "",
        f"`Client.compile_version` (what `modelyard models compile` calls) turned "
        f"`payments:1` into `{made.get('version', '?')}` in {made.get('seconds', 0):.1f} s: "
        f"converted with skl2onnx, verified on {checks.get('compiled.rows', '?')} rows "
        f"(largest probability difference {checks.get('compiled.max_difference', '?')}, "
        f"{precision} precision inputs), registered as the next version. It runs in the "
        "server worker itself (a self-contained ONNX graph: docs/runtimes.md), deployed as "
        "`payments-onnx` with the same options as `payments`.",
        "",
        "| goal | result | met |",
        "|---|---|---|",
        f"| at least {RATIO_GOAL:g}x the scikit-learn version's req/s at 16 connections | "
        f"{g['per_second']:,.0f} vs {g['source_per_second']:,.0f} req/s (best worker counts) "
        f"= {g['ratio']:.1f}x | {yes(g['met']['ratio'])} |",
        f"| p99 at most {P99_GOAL_MS:g} ms at 16 connections | {g['p99_ms']:.1f} ms "
        f"({g['workers']} worker{'s' if g['workers'] > 1 else ''}) | {yes(g['met']['p99'])} |",
    ]
    p50 = g["one_connection_p50_ms"]
    lines.append(
        f"| p50 at most {ONE_CONNECTION_P50_MS:g} ms at 1 connection (1 worker) | "
        + (f"{p50:.2f} ms" if p50 is not None else "not measured")
        + f" | {yes(g['met']['one_connection'])} |"
    )
    if "mlflow_ratio" in g:
        lines.append(
            f"| at least {MLFLOW_RATIO_GOAL:g}x `mlflow models serve` (best worker counts) | "
            f"{g['per_second']:,.0f} vs {g['mlflow_per_second']:.1f} req/s = "
            f"{g['mlflow_ratio']:.0f}x | {yes(g['met']['mlflow'])} |"
        )
    return [*lines, ""]
