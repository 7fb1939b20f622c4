"""The search filter language, parsed into a small syntax tree (no SQL here).

    filter     := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | "(" or ")" | comparison
    comparison := field op value
                | field ["NOT"] ("LIKE" | "ILIKE") string
                | field ["NOT"] "IN" "(" value ("," value)* ")"
                | field "IS" ["NOT"] "NULL"
    field      := name | environment | version | alias | status | flavor | created_at
                | created_by | description | source | git_commit
                | tags.KEY | metrics.KEY | params.KEY      (KEY may be `back-quoted`)
    op         := = | == | != | <> | < | <= | > | >=

Keywords are case-insensitive; strings use single or double quotes (doubled to escape).
Errors name the position and the offending token.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from modelyard.domain.errors import InvalidFilter

ATTRIBUTES = {
    "name": "string",
    "environment": "string",
    "env": "string",
    "version": "number",
    "alias": "string",
    "status": "string",
    "flavor": "string",
    "created_at": "time",
    "created": "time",
    "created_by": "string",
    "description": "string",
    "source": "string",
    "git_commit": "string",
}
CANONICAL = {"env": "environment", "created": "created_at"}
PREFIXES = {
    "tags": "tag",
    "tag": "tag",
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
}
COMPARISONS = {
    "=": "=",
    "==": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
KEYWORDS = {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL"}
MAX_DEPTH = 50  # nested parentheses and NOTs in one filter
MAX_NUMBER_CHARS = 40

Value = str | float | int | datetime | None


@dataclass(frozen=True, slots=True)
class Field:
    kind: Literal["attr", "tag", "metric", "param"]
    key: str

    @property
    def value_type(self) -> str:
        if self.kind == "metric":
            return "number"
        if self.kind in ("tag", "param"):
            return "string"
        return ATTRIBUTES[self.key]


@dataclass(frozen=True, slots=True)
class Compare:
    field: Field
    op: str  # = != < <= > >= like ilike not like not ilike in not in is null is not null
    value: Value | tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = Compare | And | Or | Not


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # ident, string, number, op, lparen, rparen, comma, keyword, end
    text: str
    pos: int
    value: object = None


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:`[^`]+`|[A-Za-z0-9_][A-Za-z0-9_.\-/]*))?)
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
    """,
    re.VERBOSE,
)


def _error(text: str, token: Token, expected: str) -> InvalidFilter:
    shown = token.text if token.kind != "end" else "end of filter"
    near = f"near {shown!r}" if token.kind != "end" else "at end of filter"
    return InvalidFilter(
        f"malformed filter at position {token.pos + 1} {near}: expected {expected}",
        position=token.pos + 1,
        token=token.text,
        filter=text,
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            bad = Token("bad", text[pos], pos)
            if text[pos] in "'\"":
                raise _error(text, bad, "a closing quote for the string started here")
            raise _error(text, bad, "a field, value, operator or parenthesis")
        kind = m.lastgroup or ""
        raw = m.group()
        if kind == "string":
            quote = raw[0]
            tokens.append(Token("string", raw, pos, raw[1:-1].replace(quote * 2, quote)))
        elif kind == "number":
            tokens.append(Token("number", raw, pos, _number(text, Token("number", raw, pos))))
        elif kind == "ident" and raw.upper() in KEYWORDS:
            tokens.append(Token("keyword", raw, pos, raw.upper()))
        elif kind != "ws":
            tokens.append(Token(kind, raw, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _number(text: str, tok: Token) -> float | int:
    """A literal as int (within 64 bits) or float; a longer or non-finite one is refused
    here, not by the database."""
    raw = tok.text
    if len(raw) > MAX_NUMBER_CHARS:
        raise _error(text, tok, f"a number of at most {MAX_NUMBER_CHARS} characters")
    if not any(c in raw for c in ".eE") and -(2**63) <= int(raw) < 2**63:
        return int(raw)
    number = float(raw)
    if not math.isfinite(number):
        raise _error(text, tok, "a finite number")
    return number


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0  # of parentheses and NOTs, bounded: the parser recurses on them

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def keyword(self, *words: str) -> bool:
        if self.tok.kind == "keyword" and self.tok.value in words:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.or_()
        if self.tok.kind != "end":
            raise _error(self.text, self.tok, "AND, OR or the end of the filter")
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.keyword("OR"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.keyword("AND"):
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node:
        if self.tok.kind in ("keyword", "lparen") and self.depth >= MAX_DEPTH:
            raise _error(self.text, self.tok, f"at most {MAX_DEPTH} nested parentheses or NOTs")
        if self.keyword("NOT"):
            self.depth += 1
            node: Node = Not(self.not_())
            self.depth -= 1
            return node
        if self.tok.kind == "lparen":
            self.take()
            self.depth += 1
            node = self.or_()
            self.depth -= 1
            if self.tok.kind != "rparen":
                raise _error(self.text, self.tok, "')'")
            self.take()
            return node
        return self.comparison()

    def field(self) -> Field:
        tok = self.tok
        if tok.kind != "ident":
            raise _error(self.text, tok, "a field such as name, version, tags.KEY or metrics.KEY")
        self.take()
        if "." in tok.text:
            prefix, key = tok.text.split(".", 1)
            kind = PREFIXES.get(prefix.lower())
            if kind is None:
                raise _error(self.text, tok, "tags.KEY, metrics.KEY or params.KEY")
            key = key[1:-1] if key.startswith("`") else key
            return Field(kind, key)  # type: ignore[arg-type]
        name = tok.text.lower()
        if name not in ATTRIBUTES:
            known = ", ".join(sorted(set(ATTRIBUTES) - set(CANONICAL)))
            raise _error(
                self.text, tok, f"a known field ({known}, tags.KEY, metrics.KEY, params.KEY)"
            )
        return Field("attr", CANONICAL.get(name, name))

    def value(self, field: Field) -> Value:
        tok = self.tok
        want = field.value_type
        if want == "number":
            if tok.kind != "number":
                raise _error(self.text, tok, f"a number to compare {_label(field)} with")
            self.take()
            return tok.value  # type: ignore[return-value]
        if tok.kind not in ("string", "number"):
            raise _error(self.text, tok, f"a quoted string to compare {_label(field)} with")
        self.take()
        if want == "time":
            return _parse_time(self.text, tok)
        return str(tok.value) if tok.kind == "string" else tok.text

    def comparison(self) -> Node:
        field = self.field()
        tok = self.tok
        if tok.kind == "op":
            self.take()
            return Compare(field, COMPARISONS[tok.text], self.value(field))
        negate = self.keyword("NOT")
        if self.keyword("LIKE", "ILIKE"):
            op = str(self.tokens[self.i - 1].value).lower()
            if field.value_type != "string":
                raise _error(
                    self.text,
                    self.tokens[self.i - 1],
                    f"a comparison: {_label(field)} is not text, so LIKE does not apply",
                )
            if self.tok.kind != "string":
                raise _error(self.text, self.tok, "a quoted LIKE pattern")
            pattern = str(self.take().value)
            return Compare(field, f"not {op}" if negate else op, pattern)
        if self.keyword("IN"):
            if self.tok.kind != "lparen":
                raise _error(self.text, self.tok, "'(' to start the IN list")
            self.take()
            values = [self.value(field)]
            while self.tok.kind == "comma":
                self.take()
                values.append(self.value(field))
            if self.tok.kind != "rparen":
                raise _error(self.text, self.tok, "',' or ')' in the IN list")
            self.take()
            return Compare(field, "not in" if negate else "in", tuple(values))
        if negate:
            raise _error(self.text, self.tok, "LIKE, ILIKE or IN after NOT")
        if self.keyword("IS"):
            is_not = self.keyword("NOT")
            if not self.keyword("NULL"):
                raise _error(self.text, self.tok, "NULL")
            return Compare(field, "is not null" if is_not else "is null", None)
        raise _error(self.text, tok, "a comparison operator (=, !=, <, <=, >, >=, LIKE, IN, IS)")


def _label(field: Field) -> str:
    return field.key if field.kind == "attr" else f"{field.kind}s.{field.key}"


def _parse_time(text: str, tok: Token) -> datetime:
    raw = str(tok.value)
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _error(
            text, tok, "an ISO 8601 time such as '2026-01-31' or '2026-01-31T12:00:00Z'"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


#: The scope of a version search over every environment the caller may read.
ALL_ENVIRONMENTS = "*"


def search_scope(environment: str | None, node: Node | None, default: str) -> str:
    """The environment a version search covers: the one given (``*``: every one the caller
    may read); without one, every one when the filter (``node``, parsed) compares
    ``environment`` itself, else the default environment, as for any name a user types."""
    if environment:
        return environment
    return ALL_ENVIRONMENTS if node is not None and _compares_environment(node) else default


def _compares_environment(node: Node) -> bool:
    if isinstance(node, Compare):
        return node.field == Field("attr", "environment")
    if isinstance(node, Not):
        return _compares_environment(node.item)
    return any(_compares_environment(item) for item in node.items)


def parse_filter(text: str | None) -> Node | None:
    """Parse a filter; ``None`` or blank text means no filter."""
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


ORDER_FIELDS = ("name", "environment", "version", "created_at", "status", "flavor")


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: Field
    descending: bool


def parse_order_by(items: list[str] | None) -> list[OrderKey]:
    """``["metrics.accuracy DESC", "version"]`` -> order keys; errors name the bad item."""
    keys: list[OrderKey] = []
    for item in items or []:
        parts = item.split()
        if not parts or len(parts) > 2:
            raise InvalidFilter(
                f"invalid order_by {item!r}: expected 'FIELD [ASC|DESC]'", token=item
            )
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise InvalidFilter(
                f"invalid order_by {item!r}: direction must be ASC or DESC", token=parts[1]
            )
        name = parts[0]
        if "." in name:
            prefix, key = name.split(".", 1)
            kind = PREFIXES.get(prefix.lower())
            if kind is None or not key:
                raise InvalidFilter(f"invalid order_by field {name!r}", token=name)
            field = Field(kind, key.strip("`"))  # type: ignore[arg-type]
        else:
            canonical = CANONICAL.get(name.lower(), name.lower())
            if canonical not in ORDER_FIELDS:
                raise InvalidFilter(
                    f"invalid order_by field {name!r}: use {', '.join(ORDER_FIELDS)}, "
                    "metrics.KEY, tags.KEY or params.KEY",
                    token=name,
                )
            field = Field("attr", canonical)
        keys.append(OrderKey(field, direction == "DESC"))
    return keys
