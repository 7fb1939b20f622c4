"""Where a model version runs on a server: what ``models check`` answers before a deploy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import computed_field


@dataclass(frozen=True, slots=True)
class RequirementDifference:
    requirement: str  # as the version pins it (``scikit-learn==1.5.2``)
    server: str | None  # the version the server has; None: not installed


@dataclass(frozen=True, slots=True)
class EnvironmentCheck:
    """``runs``: ``server`` (in the server's environment: every pin that matters is met) or
    ``environment`` (in a model worker of an environment built for it)."""

    version: str
    runs: Literal["server", "environment"]
    requirements: list[str] = field(default_factory=list)
    differences: list[RequirementDifference] = field(default_factory=list)
    environment: str | None = None  # the digest of its environment, when it has its own
    built: bool = False  # that environment is built and cached on the server
    build_seconds: float | None = None  # how long building it took
    problem: str | None = None  # why it cannot be built there, in one line

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        if self.runs == "server":
            return "runs in the server's environment: every pinned requirement is met"
        if self.problem is not None:
            return f"cannot run: its environment cannot be built: {self.problem}"
        if self.built:
            return "runs in its own environment, built and cached on the server"
        return "runs in its own environment, built with uv when first deployed or loaded"
