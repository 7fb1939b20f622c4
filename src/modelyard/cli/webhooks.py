"""``modelyard webhooks ...``: subscriptions that POST signed events to a URL."""

from typing import Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client

app = typer.Typer(
    help="Webhooks: signed POSTs to your URL when something changes.", no_args_is_help=True
)

WebhookId = Annotated[int, typer.Argument(help="Subscription id (see webhooks list).")]


@app.command("create")
def create(
    url: Annotated[str, typer.Argument(help="http:// or https:// URL to POST events to.")],
    events: Annotated[
        list[str],
        typer.Option(
            "--event",
            metavar="PATTERN",
            help="Event types to send, e.g. 'alert.*' or 'alias.moved'; repeatable.",
        ),
    ],
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Only events of this environment.")
    ] = None,
    secret: Annotated[
        str | None, typer.Option("--secret", help="Signing secret (default: generated).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Subscribe a URL to events. The signing secret is printed once: store it now."""
    with client() as c:
        created = c.create_webhook(url, events, environment=env, secret=secret)
    if json:
        output.emit_json(created)
        return
    output.console.print(
        f"webhook {created.webhook.id} → {created.webhook.url} "
        f"({', '.join(created.webhook.events)}); its secret (shown once, store it now):",
        highlight=False,
    )
    print(created.secret)


@app.command("list")
def list_(json: JsonOpt = False) -> None:
    """List subscriptions (never their secrets)."""
    with client() as c:
        hooks = c.list_webhooks()
    if json:
        output.emit_json(hooks)
        return
    output.table(
        None,
        ["id", "url", "events", "environment", "created"],
        [
            [h.id, h.url, ", ".join(h.events), h.environment or "all", output.when(h.created_at)]
            for h in hooks
        ],
    )


@app.command("deliveries")
def deliveries(
    webhook_id: WebhookId,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.")] = 20,
    json: JsonOpt = False,
) -> None:
    """A subscription's delivery log, newest attempt first."""
    with client() as c:
        log = c.list_webhook_deliveries(webhook_id, limit=limit)
    if json:
        output.emit_json(log)
        return
    output.table(
        None,
        ["delivery", "event", "attempt", "status", "ms", "time"],
        [
            [
                d.delivery_id,
                d.event_type,
                d.attempt,
                d.status_code if d.status_code is not None else (d.error or ""),
                f"{d.duration_ms:.0f}",
                output.when(d.created_at),
            ]
            for d in log
        ],
    )


@app.command("test")
def test(webhook_id: WebhookId, json: JsonOpt = False) -> None:
    """Send a webhook.test event to this subscription only (see webhooks deliveries)."""
    with client() as c:
        delivery = c.test_webhook(webhook_id)
    if json:
        output.emit_json({"delivery_id": delivery})
    else:
        output.console.print(f"queued delivery {delivery} to webhook {webhook_id}")


@app.command("delete")
def delete(webhook_id: WebhookId, json: JsonOpt = False) -> None:
    """Remove a subscription, its undelivered events and its delivery log."""
    with client() as c:
        hook = c.delete_webhook(webhook_id)
    output.emit_json(hook) if json else output.console.print(f"deleted webhook {hook.id}")
