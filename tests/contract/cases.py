"""The parity cases: one per contract operation, keyed ``service.operation``.

A case sets up what its operation needs, under names of its own (the cases share two
installations), calls the operation once through ``Client`` and returns what a caller
would look at. The suite runs each case embedded and against the server and compares.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq
import yaml

from modelyard import Client
from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import InvalidInput, NotReady
from modelyard.monitoring.collector import Record, to_table
from tests.contract.conftest import World

Case = Callable[[Client, World], Any]
CASES: dict[str, Case] = {}


def case(key: str) -> Callable[[Case], Case]:
    def add(fn: Case) -> Case:
        assert key not in CASES, f"two cases for {key}"
        CASES[key] = fn
        return fn

    return add


def model(c: Client, w: World, name: str, **metadata: Any) -> ModelVersion:
    return c.log_model(w.model, name, input_example=w.features.head(), **metadata)


def deployed(c: Client, w: World, name: str) -> str:
    """A deployment of a fresh model, scoring in the server (when there is one)."""
    model(c, w, f"{name}-model")
    c.create_deployment(name, [f"{name}-model:1"])
    return name


def scored(c: Client, w: World, name: str) -> Any:
    """Score a few rows with a deployment, waiting for a server to load it."""
    target = c.batch_target(name)
    deadline = time.monotonic() + 30
    while True:
        try:
            return c.score_frame(name, target.variant.name, w.features.head(3))
        except NotReady:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# -- registry ------------------------------------------------------------------------------
@case("registry.register_package")
def _(c: Client, w: World) -> Any:
    with c.packager.stage(w.model, input_example=w.features.head()) as staged:
        return c.register_package("reg", staged, tags={"team": "risk"}, metrics={"f1": 0.5})


@case("registry.get_model")
def _(c: Client, w: World) -> Any:
    model(c, w, "gm", description="a model")
    return c.get_model("gm")


@case("registry.list_models")
def _(c: Client, w: World) -> Any:
    model(c, w, "lm")
    return [m.full_name for m in c.list_models(environment="sandbox")]


@case("registry.get_version")
def _(c: Client, w: World) -> Any:
    model(c, w, "gv")
    model(c, w, "gv")
    return [c.get_version("gv:1"), c.get_version("gv"), c.get_version("sandbox/gv@latest")]


@case("registry.list_versions")
def _(c: Client, w: World) -> Any:
    model(c, w, "lv")
    model(c, w, "lv")
    return c.list_versions("lv")


@case("registry.search_versions")
def _(c: Client, w: World) -> Any:
    for i in range(3):
        model(c, w, "sv", metrics={"f1": i / 10}, tags={"team": "search"})
    first = c.search_versions("tags.team = 'search'", order_by="metrics.f1 DESC", max_results=2)
    second = c.search_versions(
        "tags.team = 'search'",
        order_by="metrics.f1 DESC",
        max_results=2,
        page_token=first.next_page_token,
    )
    return [v.ref for v in first.items + second.items]


@case("registry.get_baseline")
def _(c: Client, w: World) -> Any:
    d = c.register_dataset("gb-data", w.dataset)
    model(c, w, "gb", datasets=[d.ref])
    baseline = c.get_baseline("gb:1")
    return {"rows": baseline["rows"], "features": sorted(baseline["features"])}


@case("registry.package_source")
def _(c: Client, w: World) -> Any:
    v = model(c, w, "ps")
    source = c.package_source("ps:1")
    model_, _ = c.packager.load(source)
    return [source.digest == v.package_digest, model_.predict(w.features.head(5)).tolist()]


@case("registry.register_ensemble")
def _(c: Client, w: World) -> Any:
    model(c, w, "re-a")
    model(c, w, "re-b")
    found = c.register_ensemble("re", ["re-a:1", "re-b:1"], combine="weighted", weights=[1, 3])
    return [found.ref, found.flavor, found.signature, found.requirements]


@case("registry.compile_version")
def _(c: Client, w: World) -> Any:
    model(c, w, "cc")
    found = c.compile_version("cc:1")
    return [found.ref, found.flavor, found.lineage, found.params["compiled.input_precision"]]


@case("registry.check_version")
def _(c: Client, w: World) -> Any:
    model(c, w, "cv")
    found = c.check_version("cv:1")
    return [found.runs, found.summary, found.differences, "scikit-learn" in str(found.requirements)]


@case("registry.set_alias")
def _(c: Client, w: World) -> Any:
    model(c, w, "sa")
    model(c, w, "sa")
    return [c.set_alias("sa", "champion", 1), c.set_alias("sa", "champion", 2)]


@case("registry.delete_alias")
def _(c: Client, w: World) -> Any:
    model(c, w, "da")
    c.set_alias("da", "champion", 1)
    return c.delete_alias("da", "champion")


@case("registry.set_version_tags")
def _(c: Client, w: World) -> Any:
    model(c, w, "st", tags={"a": "1", "b": "2"})
    return c.set_version_tags("st:1", {"c": "3"}, remove=["a"])


@case("registry.set_model_tags")
def _(c: Client, w: World) -> Any:
    model(c, w, "smt")
    return c.set_model_tags("smt", {"team": "risk"}, description="described")


@case("registry.log_metrics")
def _(c: Client, w: World) -> Any:
    model(c, w, "lmx")
    return c.log_metrics("lmx@latest", {"auc": 0.9})


@case("registry.archive")
def _(c: Client, w: World) -> Any:
    model(c, w, "ar")
    return [c.archive("ar:1").status, c.archive("ar:1", restore=True).status]


@case("registry.delete_version")
def _(c: Client, w: World) -> Any:
    model(c, w, "dv")
    model(c, w, "dv")
    c.delete_version("dv:1")
    return [v.version for v in c.list_versions("dv")]


@case("registry.delete_model")
def _(c: Client, w: World) -> Any:
    model(c, w, "dm")
    return [c.delete_model("dm").full_name, [m.name for m in c.list_models()].count("dm")]


# -- datasets ------------------------------------------------------------------------------
@case("datasets.register_dataset")
def _(c: Client, w: World) -> Any:
    return [c.register_dataset("rd", w.dataset), c.register_dataset("rd", w.frame)]


@case("datasets.get_dataset")
def _(c: Client, w: World) -> Any:
    c.register_dataset("gd", w.dataset)
    return c.get_dataset("gd:1")


@case("datasets.list_datasets")
def _(c: Client, w: World) -> Any:
    c.register_dataset("ld", w.dataset)
    return [d.ref for d in c.list_datasets(environment="sandbox")]


@case("datasets.list_dataset_versions")
def _(c: Client, w: World) -> Any:
    c.register_dataset("ldv", w.dataset)
    c.register_dataset("ldv", w.frame.head(50))
    return c.list_dataset_versions("ldv")


@case("datasets.read_dataset")
def _(c: Client, w: World) -> Any:
    c.register_dataset("rdx", w.dataset)
    return c.read_dataset("rdx").to_pylist()[:5]


# -- deployments ---------------------------------------------------------------------------
@case("deployments.create_deployment")
def _(c: Client, w: World) -> Any:
    model(c, w, "cd-model")
    options = {"max_batch_size": 64, "keys": ["invoice_id"]}
    created = c.create_deployment("cd", ["cd-model:1"], options=options)
    return [created, sorted(created.new_keys)]


@case("deployments.update_deployment")
def _(c: Client, w: World) -> Any:
    deployed(c, w, "ud")
    model(c, w, "ud-model")
    return c.update_deployment("ud", ["ud-model:1=90", "ud-model:2=10"])


@case("deployments.rollback_deployment")
def _(c: Client, w: World) -> Any:
    deployed(c, w, "rb")
    c.update_deployment("rb", options={"sampling": 0.5})
    return c.rollback_deployment("rb")


@case("deployments.wait_deployment")
def _(c: Client, w: World) -> Any:
    deployed(c, w, "wd")
    c.update_deployment("wd", options={"max_wait_ms": 1})
    rollout = c.wait_deployment("wd", timeout=30)
    return [rollout.deployment, rollout.revision]  # ``workers``: 0 embedded, 1 served


@case("deployments.get_deployment")
def _(c: Client, w: World) -> Any:
    return c.get_deployment(deployed(c, w, "gdp"))


@case("deployments.list_deployments")
def _(c: Client, w: World) -> Any:
    deployed(c, w, "ldp")
    return [d.name for d in c.list_deployments(environment="sandbox")]


@case("deployments.list_revisions")
def _(c: Client, w: World) -> Any:
    deployed(c, w, "lr")
    c.update_deployment("lr", options={"max_wait_ms": 1})
    return c.list_revisions("lr")


@case("deployments.delete_deployment")
def _(c: Client, w: World) -> Any:
    return c.delete_deployment(deployed(c, w, "dd")).name


@case("deployments.regenerate_key")
def _(c: Client, w: World) -> Any:
    found = c.regenerate_key(deployed(c, w, "rk"), "secondary")
    return sorted(found.new_keys)


@case("deployments.batch_target")
def _(c: Client, w: World) -> Any:
    return c.batch_target(deployed(c, w, "bt"))


@case("deployments.score_frame")
def _(c: Client, w: World) -> Any:
    training = c.register_dataset("sf-train", w.frame)  # its baseline: the explain reference
    model(c, w, "sf-model", datasets=[training.ref])
    c.create_deployment("sf", ["sf-model:1"])
    found = scored(c, w, "sf")
    explained = c.score_frame("sf", "sf-model:1", w.features.head(3), explain=1)
    factors = explained.factors
    assert factors is not None
    return [
        found.predictions.tolist(),
        found.probabilities.round(6).tolist(),
        [factors.method, factors.output, factors.features.tolist()],
        [factors.base.round(9).tolist(), factors.contributions.round(9).tolist()],
    ]


# -- monitoring and alerts -----------------------------------------------------------------
@case("monitoring.monitor")
def _(c: Client, w: World) -> Any:
    report = c.monitor(deployed(c, w, "mo"), since="1h")
    return {k: report[k] for k in ("deployment", "environment", "rows", "against")}


@case("monitoring.money")
def _(c: Client, w: World) -> Any:
    model(c, w, "mv-model")
    c.create_deployment("mv", ["mv-model:1"], options={"amount_column": "a"})
    found = c.money("mv", since="1h", by="b")
    return {
        k: found[k] for k in ("deployment", "amount_column", "classes", "by", "groups", "matured")
    }


@case("monitoring.latest_predictions")
def _(c: Client, w: World) -> Any:
    model(c, w, "lp-model")
    c.create_deployment("lp", ["lp-model:1"], options={"keys": ["invoice_id"]})
    found = c.latest_predictions("lp", since="1h")
    return {k: found[k] for k in ("deployment", "key", "rows")}


# -- batch jobs ----------------------------------------------------------------------------
def job(c: Client, w: World, name: str, **given: Any) -> Any:
    deployed(c, w, f"{name}-d")
    inputs, output = str(w.jobs / "features.csv"), str(w.jobs / f"{name}.csv")
    return c.create_job(name, f"{name}-d", inputs, output, **given)


def ran(run: Any) -> Any:
    return {k: getattr(run, k) for k in ("job", "number", "trigger", "state", "rows", "scored",
                                          "rejected", "dataset", "output", "error")}  # fmt: skip


@case("jobs.create_job")
def _(c: Client, w: World) -> Any:
    found = job(c, w, "cj", every="1d", max_error_rate=0.1, explain=1)
    shown = ("name", "deployment", "every_seconds", "output", "max_error_rate", "table",
             "explain", "last_run")  # fmt: skip
    return {k: getattr(found, k) for k in shown}


@case("jobs.list_jobs")
def _(c: Client, w: World) -> Any:
    job(c, w, "lj")
    return [(j.name, j.deployment, j.every_seconds) for j in c.list_jobs(deployment="lj-d")]


@case("jobs.get_job")
def _(c: Client, w: World) -> Any:
    job(c, w, "gj", every="2h")
    found = c.get_job("gj")
    return (found.name, found.input.rsplit("/", 1)[1], found.every_seconds)


@case("jobs.run_job")
def _(c: Client, w: World) -> Any:
    job(c, w, "rj")
    return ran(c.run_job("rj"))


@case("jobs.list_job_runs")
def _(c: Client, w: World) -> Any:
    job(c, w, "ljr")
    c.run_job("ljr")
    return [ran(r) for r in c.list_job_runs("ljr")]


@case("jobs.delete_job")
def _(c: Client, w: World) -> Any:
    job(c, w, "dj")
    gone = c.delete_job("dj")
    return (gone.name, [j.name for j in c.list_jobs()].count("dj"))


@case("monitoring.list_monitoring_reports")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "lmr")
    c.monitor(name, since="1h")
    return [r["against"] for r in c.list_monitoring_reports(name)]


@case("monitoring.get_monitoring_report")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "gmr")
    stored = c.monitor(name, since="1h")
    found = c.get_monitoring_report(name, stored["id"])
    return {k: found[k] for k in ("deployment", "rows", "against", "summary")}


@case("monitoring.send_feedback")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "sfb")
    sent = c.send_feedback(
        name,
        [
            {"request_id": "r1", "actual": "late"},
            {"request_id": "r2", "actual": "on_time", "row": 0},
        ],
    )
    c.update_deployment(name, options={"keys": ["invoice_id"]})
    refused = []
    for key in ("invoice_id", "customer_id"):  # nothing scored with it; not declared
        try:
            c.send_feedback(name, [{key: "INV-1", "actual": "late"}], key=key)
        except InvalidInput as e:
            refused.append(str(e))
    assert len(refused) == 2, refused
    return [sent, refused]


@case("monitoring.snapshot_dataset")
def _(c: Client, w: World) -> Any:
    c.register_dataset("production/snap-src", w.dataset)
    found = c.snapshot_dataset("snap", dataset="production/snap-src:1", drop=["b"], mask=["y"])
    # masked values are keyed hashes, and each installation has its own key
    return [found.ref, found.rows, [col.name for col in found.columns]]


@case("alerts.create_alert_rule")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "car")
    return c.create_alert_rule(name, "drift", "drift_share", 0.3, window="2h")


@case("alerts.list_alert_rules")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "lar")
    c.create_alert_rule(name, "drift", "drift_share", 0.3)
    return [r.description for r in c.list_alert_rules(deployment=name)]


@case("alerts.delete_alert_rule")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "dar")
    c.create_alert_rule(name, "drift", "drift_share", 0.3)
    return [c.delete_alert_rule(name, "drift").name, c.list_alert_rules(deployment=name)]


@case("alerts.list_alerts")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "la")
    c.create_alert_rule(name, "quiet", "rows", -1, op=">")
    c.evaluate_alerts(name)
    return [(a.rule, a.state) for a in c.list_alerts(deployment=name)]


@case("alerts.evaluate_alerts")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "ea")
    c.create_alert_rule(name, "busy", "rows", 1_000_000)
    return c.evaluate_alerts(name)


# -- evaluations and promotions ------------------------------------------------------------
@case("evaluations.evaluate")
def _(c: Client, w: World) -> Any:
    model(c, w, "ev")
    c.register_dataset("ev-holdout", w.dataset)
    return c.evaluate("ev:1", "ev-holdout")


@case("evaluations.list_evaluations")
def _(c: Client, w: World) -> Any:
    model(c, w, "le")
    c.register_dataset("le-holdout", w.dataset)
    c.evaluate("le:1", "le-holdout")
    return [e.dataset for e in c.list_evaluations("le:1")]


@case("evaluations.get_evaluation")
def _(c: Client, w: World) -> Any:
    model(c, w, "ge")
    c.register_dataset("ge-holdout", w.dataset)
    return c.get_evaluation(c.evaluate("ge:1", "ge-holdout").id).metrics


@case("evaluations.compare_versions")
def _(c: Client, w: World) -> Any:
    model(c, w, "cv")
    model(c, w, "cv")
    c.register_dataset("cv-holdout", w.dataset)
    c.evaluate("cv:1", "cv-holdout")
    c.evaluate("cv:2", "cv-holdout")
    return c.compare_versions(["cv:1", "cv:2"])


@case("promotions.set_gates")
def _(c: Client, w: World) -> Any:
    return c.set_gates("production", thresholds=["f1_macro >= 0"], approvals=1)


@case("promotions.get_gates")
def _(c: Client, w: World) -> Any:
    return c.get_gates("sandbox")


@case("promotions.promote")
def _(c: Client, w: World) -> Any:
    model(c, w, "pr")
    return c.promote("pr:1", to="production", note="ready")


@case("promotions.approve")
def _(c: Client, w: World) -> Any:
    model(c, w, "ap")
    c.set_gates("production", approvals=1, self_approval=True)  # one user on each side
    request = c.promote("ap:1", to="production")
    assert request.state == "pending"
    done = c.approve(request.id, comment="ok")
    return [done.state, done.result, [(a.user, a.comment) for a in done.approvals]]


@case("promotions.reject")
def _(c: Client, w: World) -> Any:
    model(c, w, "rj")
    request = c.promote("rj:1", to="production")
    return request if request.state == "promoted" else c.reject(request.id, comment="no")


@case("promotions.get_promotion_request")
def _(c: Client, w: World) -> Any:
    model(c, w, "gpr")
    return c.get_promotion_request(c.promote("gpr:1", to="production").id)


@case("promotions.list_promotion_requests")
def _(c: Client, w: World) -> Any:
    model(c, w, "lpr")
    c.promote("lpr:1", to="production")
    return [r.source for r in c.list_promotion_requests()]


# -- bundles ---------------------------------------------------------------------------------
@case("bundles.create_key")
def _(c: Client, w: World) -> Any:
    key = c.create_key("release")
    return [key.name, len(key.public_key)]


@case("bundles.trust_key")
def _(c: Client, w: World) -> Any:
    return c.trust_key("partner", "A" * 43 + "=").name


@case("bundles.list_keys")
def _(c: Client, w: World) -> Any:
    c.create_key("listed")
    return sorted(k.name for k in c.list_keys())


@case("bundles.write_bundle")
def _(c: Client, w: World) -> Any:
    model(c, w, "wb")
    c.create_key("wb-key")
    out = io.BytesIO()
    info = c.write_bundle("wb:1", out, key="wb-key")
    return [info["source"], len(out.getvalue()) > 1000]


@case("bundles.import_bundle")
def _(c: Client, w: World) -> Any:
    model(c, w, "ib")
    c.create_key("ib-key")
    out = io.BytesIO()
    c.write_bundle("ib:1", out, key="ib-key")
    found = c.import_bundle(io.BytesIO(out.getvalue()), environment="production")
    again = c.import_bundle(io.BytesIO(out.getvalue()), environment="production")
    return [found.version.ref, found.created, again.created, found.version.locked]


# -- experiments -----------------------------------------------------------------------------
@case("experiments.record_run")
def _(c: Client, w: World) -> Any:
    return c.record_run(
        "churn",
        "all-features",
        params={"c": 1.0},
        data_fingerprint="abc",
        rows=200,
        metrics={"f1": 0.7},
    )


@case("experiments.list_experiment_runs")
def _(c: Client, w: World) -> Any:
    for i in range(3):
        c.record_run(
            "ranked", f"run-{i}", params={}, data_fingerprint="x", rows=1, metrics={"f1": i / 10}
        )
    return [r.name for r in c.list_experiment_runs("ranked", rank_by="f1")]


# -- access ----------------------------------------------------------------------------------
@case("access.whoami")
def _(c: Client, w: World) -> Any:
    me = c.whoami()
    return [me.name, me.is_admin]


@case("access.create_user")
def _(c: Client, w: World) -> Any:
    return c.create_user("dana")


@case("access.list_users")
def _(c: Client, w: World) -> Any:
    c.create_user("erin")
    return [u.name for u in c.list_users() if u.name == "erin"]


@case("access.grant")
def _(c: Client, w: World) -> Any:
    c.create_user("gus")
    return c.grant("gus", "sandbox", "developer")


@case("access.revoke")
def _(c: Client, w: World) -> Any:
    c.create_user("hal")
    c.grant("hal", "sandbox", "developer")
    return c.revoke("hal", "sandbox", "developer")


@case("access.create_token")
def _(c: Client, w: World) -> Any:
    c.create_user("ivy")
    issued = c.create_token("laptop", user="ivy", expires_in_days=30)
    return [issued.token.name, issued.token.user, issued.secret.startswith("myd_")]


@case("access.list_tokens")
def _(c: Client, w: World) -> Any:
    c.create_user("jo")
    c.create_token("one", user="jo")
    return [t.name for t in c.list_tokens(user="jo")]


@case("access.revoke_token")
def _(c: Client, w: World) -> Any:
    c.create_user("kim")
    token = c.create_token("gone", user="kim").token
    return c.revoke_token(token.id).revoked_at is not None


# -- webhooks --------------------------------------------------------------------------------
HOOK = "http://127.0.0.1:9/hook"


@case("webhooks.create_webhook")
def _(c: Client, w: World) -> Any:
    created = c.create_webhook(HOOK, ["version.*"], environment="sandbox")
    return [created.webhook.url, created.webhook.events, len(created.secret) > 16]


@case("webhooks.list_webhooks")
def _(c: Client, w: World) -> Any:
    c.create_webhook(HOOK + "/listed", ["*"])
    return [h.url for h in c.list_webhooks() if h.url.endswith("/listed")]


@case("webhooks.get_webhook")
def _(c: Client, w: World) -> Any:
    return c.get_webhook(c.create_webhook(HOOK + "/got", ["alias.*"]).webhook.id).events


@case("webhooks.delete_webhook")
def _(c: Client, w: World) -> Any:
    return c.delete_webhook(c.create_webhook(HOOK + "/gone", ["*"]).webhook.id).url


@case("webhooks.list_webhook_deliveries")
def _(c: Client, w: World) -> Any:
    hook = c.create_webhook(HOOK + "/log", ["*"]).webhook
    return [hook.url, c.list_webhook_deliveries(hook.id, limit=10)]


@case("webhooks.test_webhook")
def _(c: Client, w: World) -> Any:
    return c.test_webhook(c.create_webhook(HOOK + "/test", ["version.*"]).webhook.id) > 0


# -- operations ------------------------------------------------------------------------------
@case("operations.doctor")
def _(c: Client, w: World) -> Any:
    report = c.doctor(deep=False)
    return [report.ok, [f.kind for f in report.findings if f.severity == "error"]]


@case("operations.audit")
def _(c: Client, w: World) -> Any:
    model(c, w, "au")
    return [(e.actor, e.action, e.subject) for e in c.audit(subject="model_version:sandbox/au")]


# -- scoring elsewhere -----------------------------------------------------------------------
@case("edge.serving_states")
def _(c: Client, w: World) -> Any:
    found = c.serving_states([deployed(c, w, "ss")])
    return [
        (s.name, s.revision, [v["model"] for v in s.variants], len(s.key_hashes)) for s in found
    ]


@case("edge.serving_changes")
def _(c: Client, w: World) -> Any:
    before = c.serving_changes()
    deployed(c, w, "sch")
    after = c.serving_changes()
    return [after > before, c.serving_changes() == after]


def _served_package(c: Client, w: World, name: str) -> tuple[str, str]:
    digest = c.serving_states([deployed(c, w, name)])[0].variants[0]["package_digest"]
    return digest, c.serving_manifest(digest)


@case("edge.serving_manifest")
def _(c: Client, w: World) -> Any:
    digest, text = _served_package(c, w, "sm")
    return [digest.startswith("sha256:"), sorted(yaml.safe_load(text))]


@case("edge.write_serving_file")
def _(c: Client, w: World) -> Any:
    digest, text = _served_package(c, w, "wsf")
    name, info = sorted(yaml.safe_load(text)["files"].items())[0]
    out = io.BytesIO()
    size = c.write_serving_file(digest, f"sha256:{info['sha256']}", out)
    return [name, size == info["size"] == len(out.getvalue())]


@case("edge.write_edge")
def _(c: Client, w: World) -> Any:
    c.create_key("edge-parity")
    out = io.BytesIO()
    info = c.write_edge(deployed(c, w, "we"), out, key="edge-parity")
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        names = [n for n in tar.getnames() if not n.startswith(("packages/", "wheels/"))]
    return [info, names]


@case("edge.upload_collected")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "uc")
    record = Record(
        "edge-1", datetime.now(UTC), name, 1, f"{name}-model:1", "live", 200, 1.5,
        {"a": [1.0, 2.0]}, ["x", "y"], None, 2,
    )  # fmt: skip
    out = io.BytesIO()
    pq.write_table(to_table([record]), out)
    return [c.upload_collected(name, out.getvalue()), c.upload_collected(name, out.getvalue())]


@case("edge.kubernetes_manifests")
def _(c: Client, w: World) -> Any:
    name = deployed(c, w, "km")
    c.update_deployment(name, options={"cpu": 2, "max_replicas": 8})
    found = c.kubernetes_manifests(name, image="yard:1", server="http://control:8600")
    hpa = yaml.safe_load(found["files"]["hpa.yaml"])
    return found["revision"], sorted(found["files"]), hpa["spec"]["maxReplicas"]
