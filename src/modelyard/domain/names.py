"""Names and references: ``[env/]name[:version|@alias]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelyard.domain.errors import InvalidName

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
ALIAS_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
KEY_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-/ ]{0,249}$"
_KEY = re.compile(KEY_PATTERN)
_ALIAS = re.compile(ALIAS_PATTERN)

DEFAULT_ENVIRONMENT = "sandbox"
BUILTIN_ENVIRONMENTS = ("sandbox", "production")


def check_name(name: str, what: str = "model name") -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidName(
            f"invalid {what} {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            name=str(name),
        )
    return name


def check_key(key: str, what: str = "key") -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidName(
            f"invalid {what} {key!r}: use 1-250 letters, digits, '_', '.', '-', '/' or spaces",
            name=str(key),
        )
    return key


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias.isdigit():
        raise InvalidName(
            f"invalid alias {alias!r}: use 1-64 letters, digits, '_' or '-', "
            "starting with a letter",
            name=str(alias),
        )
    if alias.lower() == "latest":
        raise InvalidName("'latest' is reserved: it always means the newest version", name=alias)
    return alias


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model, or one version of it, named by number or alias (or ``latest``)."""

    environment: str
    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        text = f"{self.environment}/{self.name}"
        if self.version is not None:
            return f"{text}:{self.version}"
        if self.alias is not None:
            return f"{text}@{self.alias}"
        return text

    @property
    def model(self) -> ModelRef:
        return ModelRef(self.environment, self.name)


def names_version(text: str) -> bool:
    """True when a reference names one version (``:N``, ``@alias``), not a whole model."""
    return ":" in text or "@" in text


def parse_ref(
    text: str, environment: str | None = None, default: str = DEFAULT_ENVIRONMENT
) -> ModelRef:
    """Parse ``[env/]name[:version|@alias]``. ``environment``, when given, is the one asked
    for (a different one in the text is an error); else the text's, else ``default``."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidName("empty model reference: expected [env/]name[:version|@alias]", name="")
    raw = text.strip()
    env = environment or default
    rest = raw
    if "/" in raw:
        env, rest = raw.split("/", 1)
        if environment is not None and env != environment:
            raise InvalidName(
                f"reference {raw!r} names environment {env!r} but {environment!r} was asked for",
                name=raw,
            )
    check_name(env, "environment name")
    version: int | None = None
    alias: str | None = None
    if ":" in rest:
        rest, ver = rest.split(":", 1)
        if not ver.isdigit() or int(ver) < 1:
            if ver == "latest":
                alias = "latest"
            else:
                raise InvalidName(
                    f"invalid version {ver!r} in {raw!r}: expected a positive integer", name=raw
                )
        else:
            version = int(ver)
    elif "@" in rest:
        rest, alias = rest.split("@", 1)
        if alias != "latest":
            check_alias(alias)
    check_name(rest)
    return ModelRef(env, rest, version, alias)


def parse_model_name(
    text: str, environment: str | None = None, default: str = DEFAULT_ENVIRONMENT
) -> ModelRef:
    """``[env/]name`` of a model to add a version to: a version or alias is refused."""
    ref = parse_ref(text, environment, default)
    if ref.version is not None or ref.alias is not None:
        raise InvalidName(f"register takes a model name, not a version: {text!r}", name=text)
    return ref
