"""Deployments: named web services that pin exact versions and change only on purpose.

A model spec is ``[environment/]name:version`` (an alias is resolved once, when the
revision is made) with an optional weight, ``payments:3=90``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.domain.deployments import BatchTarget, Deployment, Revision, Rollout
    from modelyard.runtimes.scorer import Output


class Deployments(Protocol):
    def create_deployment(
        self,
        name: str,
        models: list[str],
        *,
        environment: str | None = None,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
        description: str = "",
    ) -> Deployment:
        """A new deployment serving ``models`` (weights split the live traffic, ``shadows``
        get a mirrored copy). The result's ``new_keys`` hold both scoring keys, shown
        this once."""
        ...

    def update_deployment(
        self,
        name: str,
        models: list[str] | None = None,
        *,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Deployment:
        """A new revision: other versions or weights, shadows, or serving options (what is
        not given is kept). Rolled out with zero failed requests."""
        ...

    def rollback_deployment(self, name: str, *, to: int | None = None) -> Deployment:
        """Re-apply an earlier revision (default: the one before the current) as a new
        revision."""
        ...

    def wait_deployment(
        self, name: str, *, revision: int | None = None, timeout: float = 60.0
    ) -> Rollout:
        """Wait until every live server worker serves ``revision`` (default: the current
        one) or a newer one. Refused with ``NotReady`` when that revision failed to load
        in a worker, or when ``timeout`` seconds pass first."""
        ...

    def get_deployment(self, name: str) -> Deployment:
        """A deployment and its current revision."""
        ...

    def list_deployments(self, *, environment: str | None = None) -> list[Deployment]:
        """Every deployment the caller may read, or those of one environment."""
        ...

    def list_revisions(self, name: str) -> list[Revision]:
        """A deployment's revisions, oldest first."""
        ...

    def delete_deployment(self, name: str) -> Deployment:
        """Stop serving and delete a deployment (its versions stay in the registry)."""
        ...

    def regenerate_key(self, name: str, slot: str) -> Deployment:
        """Replace the ``primary`` or ``secondary`` scoring key; the new one is in
        ``new_keys``, shown this once."""
        ...

    def batch_target(self, name: str, *, variant: str | None = None) -> BatchTarget:
        """The deployment and the live variant a batch job scores with (default: the
        heaviest live variant)."""
        ...

    def score_frame(
        self, name: str, variant: str, frame: pd.DataFrame, *, explain: int = 0
    ) -> Output:
        """Score rows with one variant of a deployment (what batch scoring calls per
        chunk); the rows were checked against the signature already. With ``explain``,
        each row's top ``explain`` factors too."""
        ...
