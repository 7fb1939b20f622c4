"""The money view: what a classifier's predictions say of an amount column.

For each item (a collected row; with key columns, the latest row of each value of the
first key, e.g. an invoice scored twice counts once) the amount expected in a class is
the amount times the class's probability. Summed: in total, per value of a ``by`` column
(a segment, or a key such as ``customer_id``), and, over the items whose outcome has
matured (``monitoring.maturity``), against the amount that really ended in each class.

The queries run on a report's ``Window`` (its DuckDB connection and files)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelyard.domain.reports import MoneyGroup, MoneyMatured
from modelyard.monitoring.collector import KEY_PREFIX, collected_column
from modelyard.monitoring.report import FEEDBACK_CTE, feedback_files, quote

if TYPE_CHECKING:
    from modelyard.monitoring.lake import Lake
    from modelyard.monitoring.maturity import Maturity
    from modelyard.monitoring.report import Window

MAX_GROUPS = 10_000  # groups a view answers at most (largest amount first)


class Money:
    """The items of one window and variant(s), ready to be summed (``items`` CTE)."""

    def __init__(
        self,
        data: Window,
        amount: str,
        keys: tuple[str, ...],
        variants: list[str],
        classes: list[str],
        maturity: Maturity,
    ) -> None:
        self.data = data
        self.classes = classes
        identity = "d.request_id || ':' || d.\"row\""
        if keys and KEY_PREFIX + keys[0] in data.columns:
            identity = f"coalesce(d.{quote(KEY_PREFIX + keys[0])}, {identity})"
        self.amount = f"try_cast(d.{quote(collected_column(amount, keys))} AS DOUBLE)"
        self.keys = keys
        self.variants = variants
        self.matures = maturity.matures_at(data.columns)
        self.identity = identity

    def _items(self, group: str) -> tuple[str, list[Any]]:
        data = self.data
        sql = (
            'items AS (SELECT d.request_id, d."row", CAST(d.prediction AS VARCHAR) AS '
            f"prediction, d.probabilities AS p, {self.amount} AS amount, {group} AS g, "
            f"{self.matures} AS matures_at FROM read_parquet(?, union_by_name=true) d "
            f"WHERE {data.where} AND list_contains(?, d.variant) AND d.probabilities IS NOT NULL "
            f"AND len(d.probabilities) = {len(self.classes)} "
            f"QUALIFY row_number() OVER (PARTITION BY {self.identity} "
            'ORDER BY d.time DESC, d."row" DESC) = 1) '
        )
        return sql, [data.files, data.since, data.until, self.variants]

    def _sums(self) -> str:
        expected = ", ".join(
            f"coalesce(fsum(amount * p[{i + 1}]), 0)" for i in range(len(self.classes))
        )
        return f"count(*), coalesce(fsum(amount), 0), {expected}"

    def _expected(self, values: tuple[Any, ...]) -> dict[str, float]:
        return {c: float(v) for c, v in zip(self.classes, values, strict=True)}

    def totals(self, now: datetime) -> tuple[int, float, dict[str, float], dict[str, float], int]:
        """Items, amount, expected and predicted amount per class, pending items."""
        if not self.data.files or "probabilities" not in self.data.columns:
            zero = dict.fromkeys(self.classes, 0.0)
            return 0, 0.0, zero, dict(zero), 0
        items, params = self._items("NULL")
        predicted = ", ".join(
            "coalesce(fsum(amount) FILTER (WHERE prediction = ?), 0)" for _ in self.classes
        )
        row = self.data.con.execute(
            f"WITH {items}SELECT {self._sums()}, {predicted}, "
            "count(*) FILTER (WHERE matures_at > ?) FROM items WHERE amount IS NOT NULL",
            [*params, *self.classes, now],
        ).fetchone()
        assert row is not None
        k = len(self.classes)
        return (
            int(row[0]),
            float(row[1]),
            self._expected(row[2 : 2 + k]),
            self._expected(row[2 + k : 2 + 2 * k]),
            int(row[-1]),
        )

    def groups(self, by: str, limit: int) -> list[MoneyGroup]:
        """Per value of the input or key ``by``, largest amount first."""
        if not self.data.files or "probabilities" not in self.data.columns:
            return []
        group = f"CAST(d.{quote(collected_column(by, self.keys))} AS VARCHAR)"
        items, params = self._items(group)
        rows = self.data.con.execute(
            f"WITH {items}SELECT g, {self._sums()} FROM items WHERE amount IS NOT NULL "
            "GROUP BY g ORDER BY 3 DESC, 1 LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [
            {
                "value": None if r[0] is None else str(r[0]),
                "rows": int(r[1]),
                "amount": float(r[2]),
                "expected": self._expected(r[3:]),
            }
            for r in rows
        ]

    def matured(self, lake: Lake, now: datetime) -> MoneyMatured | None:
        """Expected against realized amount per class over the items whose outcome has
        matured at ``now`` (their newest feedback); None when none has."""
        feedback = feedback_files(lake, self.data.deployment)
        if not self.data.files or not feedback or "probabilities" not in self.data.columns:
            return None
        lake.attach(self.data.con)
        items, params = self._items("NULL")
        realized = ", ".join(
            "coalesce(fsum(amount) FILTER (WHERE fb.actual = ?), 0)" for _ in self.classes
        )
        row = self.data.con.execute(
            FEEDBACK_CTE + f", {items}SELECT {self._sums()}, {realized} FROM items "
            'JOIN fb ON items.request_id = fb.request_id AND items."row" = fb."row" '
            "WHERE amount IS NOT NULL AND matures_at <= ?",
            [feedback, *params, *self.classes, now],
        ).fetchone()
        if row is None or not row[0]:
            return None
        k = len(self.classes)
        amount = float(row[1])
        expected = self._expected(row[2 : 2 + k])
        realized_by = self._expected(row[2 + k : 2 + 2 * k])
        gap = (
            max(abs(expected[c] - realized_by[c]) for c in self.classes) / amount
            if amount
            else None
        )
        return {
            "rows": int(row[0]),
            "amount": amount,
            "expected": expected,
            "realized": realized_by,
            "gap": gap,
        }
