"""``modelyard k8s render``: a deployment's scoring as Kubernetes manifests."""

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client

k8s_app = typer.Typer(help="Kubernetes manifests for a deployment's scoring.")


@k8s_app.command("render")
def render(
    deployment: Annotated[str, typer.Argument(help="The deployment to run on a cluster.")],
    output_dir: Annotated[Path, typer.Option("--output", "-o", help="The folder to write.")],
    image: Annotated[
        str | None,
        typer.Option("--image", help="The image with modelyard (default modelyard:VERSION)."),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server", help="The control plane's URL (default http://modelyard-server:8600)."
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Write the Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget that
    run `modelyard serve` for DEPLOYMENT (requests and replicas from its serving options),
    their kustomization, and a KServe InferenceService of the same container."""
    with client() as c:
        found = c.render_kubernetes(deployment, output_dir, image=image, server=server)
    if json_:
        output.emit_json({**found, "folder": str(output_dir)})
    else:
        output.console.print(
            f"wrote {output_dir}: {', '.join(found['files'])} for deployment {deployment} "
            f"revision {found['revision']}. Apply with kubectl apply -k {output_dir} "
            f"(KServe: kubectl apply -f {output_dir}/inferenceservice.yaml)",
            markup=False,
        )
