"""``modelyard monitor``, ``modelyard feedback`` and ``modelyard alerts ...``."""

from pathlib import Path
from typing import Annotated, Any

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client
from modelyard.domain.errors import InvalidInput
from modelyard.domain.reports import MonitoringReport
from modelyard.domain.signals import SIGNALS

alerts_app = typer.Typer(help="Alert rules on monitoring signals, and the alerts they raise.")

Since = Annotated[
    str | None,
    typer.Option("--since", help="ISO time (UTC if no zone) or a duration before now: 1h, 7d."),
]
Until = Annotated[str | None, typer.Option("--until", help="ISO time or duration (default: now).")]
Offset = Annotated[
    str | None,
    typer.Option("--offset", help="End the window this long before now (60d): late labels."),
]
By = Annotated[
    str | None,
    typer.Option("--by", metavar="COLUMN", help="Per value of an input or key column."),
]


SHORT = {
    "wasserstein": "W1",
    "psi": "PSI",
    "ks": "KS",
    "jensen_shannon": "JS",
    "chi_squared": "chi2",
}


def _num(value: Any, pct: bool = False, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if pct else f"{value:.{digits}g}"


def monitor(
    deployment: Annotated[str, typer.Argument(help="Deployment name.")],
    since: Since = None,
    until: Until = None,
    against: Annotated[
        str | None,
        typer.Option("--against", help="baseline (default), previous, or SINCE..UNTIL."),
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="List stored reports' summaries instead.")
    ] = False,
    span: Annotated[
        str | None,
        typer.Option("--window", "-w", help="The window's length (7d): --since counted back."),
    ] = None,
    offset: Offset = None,
    by: By = None,
    json: JsonOpt = False,
) -> None:
    """Drift, data quality and live performance of a deployment's traffic (default: the
    last 24 hours) against the baselines of the versions that served it. Stored, so
    --history shows the trend."""
    with client() as c:
        if history:
            found = c.list_monitoring_reports(deployment)
            if json:
                output.emit_json(found)
                return
            output.table(
                f"{deployment}: stored reports",
                ["id", "window", "rows", "drift share", "prediction drift", "accuracy"],
                [
                    [
                        h["id"],
                        f"{h['since'][:16]} .. {h['until'][:16]}",
                        h["summary"]["rows"],
                        _num(h["summary"]["drift_share"], pct=True),
                        _num(h["summary"]["prediction_drift"], digits=3),
                        _num(h["summary"]["accuracy"], pct=True),
                    ]
                    for h in found
                ],
            )
            return
        if span is not None and since is not None:
            raise InvalidInput("give --window or --since, not both")
        report = c.monitor(
            deployment, since=span or since, until=until, against=against, offset=offset, by=by
        )
    if json:
        output.emit_json(report)
        return
    _render(report)


def _render(report: MonitoringReport) -> None:
    output.console.print(
        f"[bold]{report['deployment']}[/] ({report['environment']}): {report['rows']:,} live rows "
        f"from {report['since'][:19]} to {report['until'][:19]} UTC, against {report['against']}"
    )
    if not report["variants"]:
        output.console.print("no live rows were collected in this window")
    for section in report["variants"]:
        if "features" not in section:
            output.console.print(
                f"{section['variant']}: {section['rows']:,} rows; {section['note']}"
            )
            continue
        rows = []
        for f in [
            *section["features"],
            *([section["prediction"]] if section["prediction"] else []),
        ]:
            d: dict[str, Any] = dict(f["drift"] or {})
            rows.append(
                [
                    f["feature"],
                    SHORT.get(d.get("method", ""), "-"),
                    "-" if d.get("score") is None else f"{d['score']:.3f}",
                    _num(d.get("threshold")),
                    "DRIFT" if d.get("drifted") else "ok",
                    _num(f["null_rate"], pct=True),
                    _num(f["type_error_rate"], pct=True),
                    _num(f["out_of_bounds_rate"], pct=True),
                ]
            )
        output.table(
            f"{section['variant']}: {section['rows']:,} rows vs {section['reference']} — "
            f"{len(section['drifted_features'])} of {len(section['features'])} features drifted",
            ["feature", "test", "score", "limit", "drift", "nulls", "type", "out"],
            rows,
        )
    if report["variants"]:
        output.console.print(
            "tests: W1 normalized Wasserstein, JS Jensen-Shannon (drift at score >= limit); "
            "KS, chi2 (drift at p-value < limit); type: values of the wrong type; out: "
            "beyond the baseline's range or categories"
        )
    perf = report["performance"]
    if perf is None:
        output.console.print("performance: no feedback for this window (modelyard feedback)")
    elif perf["kind"] == "regression":
        output.console.print(
            f"performance on {perf['rows']:,} rows with feedback: MAE {perf['mae']:.4g}, "
            f"RMSE {perf['rmse']:.4g}"
        )
    else:
        output.console.print(
            f"performance on {perf['rows']:,} rows with feedback: accuracy "
            f"{perf['accuracy']:.1%}, F1 macro {perf['f1_macro']:.3f}"
        )
        output.table(
            None,
            ["class", "precision", "recall", "f1", "support"],
            [
                [k, _num(v["precision"]), _num(v["recall"]), _num(v["f1"]), v["support"]]
                for k, v in perf["per_class"].items()
            ],
        )
        labels = perf["confusion_matrix"]["labels"]
        output.table(
            "confusion matrix (rows: actual, columns: predicted)",
            ["", *labels],
            [
                [label, *row]
                for label, row in zip(labels, perf["confusion_matrix"]["matrix"], strict=True)
            ],
        )
    _render_labels_and_segments(report)


def _render_labels_and_segments(report: MonitoringReport) -> None:
    if report["pending"]:
        output.console.print(
            f"pending: {report['pending']:,} rows whose label has not matured (not counted)"
        )
    weeks = report["cohorts"]
    if len(weeks) > 1 and any(w["labelled"] for w in weeks):
        measure = "mae" if "mae" in weeks[0] else "accuracy"
        output.table(
            "by scoring week",
            ["week", "rows", "pending", "labelled", measure],
            [
                [w["week"], w["rows"], w["pending"], w["labelled"],
                 _num(w.get(measure), pct=measure == "accuracy")]
                for w in weeks
            ],
        )  # fmt: skip
    if report["segments"]:
        column = report["segments"][0]["column"]
        output.table(
            f"by {column}",
            [column, "rows", "drift share", "drifted", "null rate", "accuracy", "pending"],
            [
                [s["value"], s["rows"], _num(s["summary"]["drift_share"], pct=True),
                 _num(s["summary"]["drifted_features"]),
                 _num(s["summary"]["null_rate"], pct=True),
                 _num(s["summary"]["accuracy"], pct=True), s["pending"]]
                for s in report["segments"]
            ],
        )  # fmt: skip


def feedback(
    deployment: Annotated[str, typer.Argument(help="Deployment name.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV, Parquet, JSON or JSON lines with request_id, actual [, row]; with "
            "--key K: K, actual [, observed_at]."
        ),
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            metavar="COLUMN",
            help="Outcomes by this key column of the deployment: each labels the latest "
            "prediction of its key made before it was observed.",
        ),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Send ground truth for scored rows (joined to them by request id and row), or
    outcomes by key (--key invoice_id)."""
    items = _feedback_items(file, key)
    with client() as c:
        result = c.send_feedback(deployment, items, key=key)
    if json:
        output.emit_json(result)
        return
    what = "outcomes" if key else "feedback rows"
    output.console.print(f"accepted {result.accepted:,} {what} for {deployment}", markup=False)
    if result.unknown:
        shown = ", ".join(result.unknown_keys)
        more = ", …" if result.unknown > len(result.unknown_keys) else ""
        output.console.print(
            f"{result.unknown:,} outcomes match no prediction of their {key} scored before "
            f"they were observed (not stored): {shown}{more}",
            markup=False,
        )


def _feedback_items(file: Path, key: str | None) -> list[dict[str, Any]]:
    import pandas as pd

    if not file.is_file():
        raise InvalidInput(f"no such file: {str(file)!r}")
    suffix = file.suffix.lower()
    text = {key or "request_id": str}
    try:
        if suffix == ".csv":
            frame = pd.read_csv(file, dtype=text)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(file)
        elif suffix == ".json":
            frame = pd.read_json(file, dtype=text)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(file, lines=True, dtype=text)
        else:
            raise InvalidInput(
                f"unsupported file {file.name!r}: use .csv, .parquet, .json or .jsonl"
            )
    except (ValueError, OSError) as e:
        raise InvalidInput(f"cannot read {file.name!r}: {str(e).splitlines()[0]}") from None
    columns = (key, "actual", "observed_at") if key else ("request_id", "actual", "row")
    missing = [c for c in columns[:2] if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{file.name!r} lacks column(s) {', '.join(missing)}")
    keep = [c for c in columns if c in frame.columns]
    if "observed_at" in keep:  # ISO text, whatever the file's type for it
        given = frame["observed_at"]
        moments = pd.to_datetime(given, errors="coerce", utc=True, format="mixed")
        bad = moments.isna() & given.notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InvalidInput(
                f"{file.name!r} row {row}: observed_at {given.iloc[row]!r} is not a time"
            )
        frame["observed_at"] = [None if pd.isna(m) else m.isoformat() for m in moments]
    items = []
    for record in frame[keep].to_dict("records"):
        item = {k: (v.item() if hasattr(v, "item") else v) for k, v in record.items()}
        if "observed_at" in item and not isinstance(item["observed_at"], str):
            del item["observed_at"]  # none given: observed now
        if isinstance(item.get("actual"), float) and item["actual"] != item["actual"]:
            item["actual"] = None
        items.append(item)
    return items


# -- alerts ---------------------------------------------------------------------------------
@alerts_app.command("list")
def list_alerts(
    deployment: Annotated[str | None, typer.Option("--deployment", "-d")] = None,
    firing: Annotated[bool, typer.Option("--firing", help="Only alerts still firing.")] = False,
    json: JsonOpt = False,
) -> None:
    """Alerts, newest first."""
    with client() as c:
        found = c.list_alerts(deployment=deployment, state="firing" if firing else None)
    if json:
        output.emit_json(found)
        return
    output.table(
        "alerts",
        ["id", "state", "deployment", "rule", "value", "fired", "resolved"],
        [
            [
                a.id,
                a.state,
                a.deployment,
                a.rule,
                _num(a.last_value),
                output.when(a.fired_at),
                output.when(a.resolved_at) if a.resolved_at else "",
            ]
            for a in found
        ],
    )


@alerts_app.command("rules")
def list_rules(
    deployment: Annotated[str | None, typer.Option("--deployment", "-d")] = None,
    json: JsonOpt = False,
) -> None:
    """Alert rules."""
    with client() as c:
        found = c.list_alert_rules(deployment=deployment)
    if json:
        output.emit_json(found)
        return
    output.table(
        "alert rules",
        ["deployment", "name", "rule", "every", "next run"],
        [
            [r.deployment, r.name, r.description, f"{r.every_seconds}s", output.when(r.next_run_at)]
            for r in found
        ],
    )


@alerts_app.command("add")
def add_rule(
    deployment: Annotated[str, typer.Argument(help="Deployment name.")],
    name: Annotated[str, typer.Argument(help="Rule name, unique per deployment.")],
    signal: Annotated[str, typer.Option("--signal", "-s", help=", ".join(SIGNALS))],
    threshold: Annotated[float, typer.Option("--threshold", "-t")],
    op: Annotated[str, typer.Option("--op", help=">, >=, < or <=")] = ">",
    feature: Annotated[str | None, typer.Option("--feature", help="For feature_drift.")] = None,
    window: Annotated[str, typer.Option("--window", "-w", help="e.g. 15m, 1h, 7d")] = "1h",
    every: Annotated[str, typer.Option("--every", help="How often it is evaluated.")] = "5m",
    offset: Offset = None,
    segment: Annotated[
        str | None,
        typer.Option("--segment", metavar="COLUMN=VALUE", help="Only the rows of a segment."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Add an alert rule: the server evaluates it on schedule and fires webhooks."""
    with client() as c:
        rule = c.create_alert_rule(
            deployment, name, signal, threshold, op=op, feature=feature, window=window,
            every=every, offset=offset, segment=segment,
        )  # fmt: skip
    if json:
        output.emit_json(rule)
    else:
        output.console.print(
            f"rule {rule.name} on {rule.deployment}: {rule.description}, "
            f"every {rule.every_seconds}s"
        )


@alerts_app.command("delete")
def delete_rule(
    deployment: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Argument()],
) -> None:
    """Delete an alert rule (its alerts go with it)."""
    with client() as c:
        rule = c.delete_alert_rule(deployment, name)
    output.console.print(f"deleted rule {rule.name} of {rule.deployment}")


@alerts_app.command("evaluate")
def evaluate(
    deployment: Annotated[str, typer.Argument()],
    json: JsonOpt = False,
) -> None:
    """Evaluate a deployment's rules now, as the scheduler would."""
    with client() as c:
        found = c.evaluate_alerts(deployment)
    if json:
        output.emit_json(found)
        return
    output.table(
        None,
        ["rule", "value", "firing", "change"],
        [[o["rule"], _num(o["value"]), o["firing"], o["change"] or ""] for o in found],
    )
