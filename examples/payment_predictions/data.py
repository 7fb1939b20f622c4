"""A deterministic generator of customers and invoices for the payment-prediction example.

Each settled invoice carries its payment date and its outcome bucket: ``on_time`` (paid by
the due date), ``late`` (1 to ``late_days`` days after) or ``very_late`` (more than that;
``late_days=0`` collapses the buckets to on time / late). Invoices not yet paid on
``as_of`` are open: no payment date, no label. The relationships are realistic and noisy:
payment history, terms, amount relative to the credit limit and the customer group drive
lateness, plus chance. ``drifted`` makes a later period where small businesses pay worse
and invoice amounts grow: what monitoring should notice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUPS = ["enterprise", "mid_market", "small_business", "public_sector"]
REGIONS = ["north", "south", "east", "west"]
CURRENCIES = ["EUR", "USD", "GBP"]
FEATURES = [
    "customer_group",
    "region",
    "credit_limit",
    "account_age_years",
    "prior_late_share",
    "amount",
    "amount_to_limit",
    "payment_terms_days",
    "currency",
    "discount_offered",
    "invoice_month",
]


def customers(n: int = 400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(GROUPS, n, p=[0.2, 0.35, 0.35, 0.1])
    base_limit = {
        "enterprise": 250_000,
        "mid_market": 60_000,
        "small_business": 15_000,
        "public_sector": 120_000,
    }
    limit = np.array([base_limit[g] for g in group]) * rng.lognormal(0, 0.35, n)
    reliability = rng.beta(5, 2, n) - np.where(group == "small_business", 0.15, 0.0)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "customer_group": group,
            "region": rng.choice(REGIONS, n),
            "credit_limit": limit.round(-2),
            "account_age_years": rng.gamma(2.0, 3.0, n).round(1),
            "payment_terms_days": rng.choice([14, 30, 45, 60], n, p=[0.2, 0.5, 0.2, 0.1]),
            "reliability": reliability.clip(0.05, 0.99),
            "prior_late_share": (1 - reliability + rng.normal(0, 0.08, n)).clip(0, 1).round(3),
        }
    )


START = pd.Timestamp("2025-01-01")
AS_OF = pd.Timestamp("2026-06-25")  # invoices unpaid on this day are open


def invoices(
    cust: pd.DataFrame,
    n: int = 6000,
    seed: int = 11,
    late_days: int = 30,
    *,
    start: pd.Timestamp = START,
    days: int = 540,
    as_of: pd.Timestamp | None = None,
    amount_factor: float = 1.0,
    worse_group: str | None = None,
) -> pd.DataFrame:
    """``n`` invoices issued over ``days`` days from ``start``. With ``as_of``, those not
    paid by then are open (``settled`` false, no payment date, no label)."""
    if late_days < 0:
        raise ValueError("late_days must be 0 or more")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(cust), n)
    c = cust.iloc[idx].reset_index(drop=True)
    if worse_group is not None:  # this group's customers now pay much worse
        worse = c["customer_group"] == worse_group
        c.loc[worse, "reliability"] = (c.loc[worse, "reliability"] - 0.35).clip(0.02, 0.99)
    invoice_date = start + pd.to_timedelta(rng.integers(0, days, n), "D")
    amount = (c["credit_limit"] * rng.beta(1.2, 8, n) * amount_factor).round(2)
    discount = rng.random(n) < 0.2
    ratio = amount / c["credit_limit"]
    # Days past due: the less reliable, the more owed relative to the limit, the longer
    # the terms, the later; a discount helps; chance adds a lot of noise.
    mean_delay = (
        -20
        + 45 * (1 - c["reliability"])
        + 30 * ratio
        + 0.15 * c["payment_terms_days"]
        - 5 * discount
        + np.where(c["customer_group"] == "public_sector", 8, 0)
        - 0.4 * c["account_age_years"]
    )
    # A heavy tail: unreliable customers sometimes pay very late.
    tail = rng.exponential(90 * (1 - c["reliability"]) ** 2 + 1)
    delay = np.round(mean_delay + tail + rng.normal(0, 9, n))
    label = np.where(delay <= 0, "on_time", np.where(delay <= late_days, "late", "very_late"))
    if late_days == 0:
        label = np.where(delay <= 0, "on_time", "late")
    due = invoice_date + pd.to_timedelta(c["payment_terms_days"], "D")
    payment_date = due + pd.to_timedelta(delay, "D")
    settled = np.ones(n, dtype=bool) if as_of is None else (payment_date <= as_of).to_numpy()
    frame = pd.DataFrame(
        {
            "invoice_id": [f"INV{i:06d}" for i in range(n)],
            "customer_id": c["customer_id"],
            "customer_group": c["customer_group"],
            "region": c["region"],
            "credit_limit": c["credit_limit"],
            "account_age_years": c["account_age_years"],
            "prior_late_share": c["prior_late_share"],
            "amount": amount,
            "amount_to_limit": ratio.round(4),
            "payment_terms_days": c["payment_terms_days"],
            "currency": rng.choice(CURRENCIES, n, p=[0.6, 0.3, 0.1]),
            "discount_offered": discount,
            "invoice_month": invoice_date.month,
            "invoice_date": invoice_date,
            "due_date": due,
            "payment_date": payment_date,
            "settled": settled,
            "label": label,
        }
    )
    frame.loc[~settled, ["payment_date", "label"]] = None
    return frame.sort_values(["invoice_date", "invoice_id"], ignore_index=True)


def drifted(
    cust: pd.DataFrame,
    n: int = 3000,
    seed: int = 23,
    late_days: int = 30,
    *,
    start: pd.Timestamp = AS_OF,
    worse_group: str | None = "small_business",
) -> pd.DataFrame:
    """A later quarter (from ``start``) where small businesses pay much worse (their
    outcomes change for the same inputs: concept drift) and amounts grow by half (the
    inputs move: covariate drift). ``worse_group=None`` keeps the covariate drift only."""
    return invoices(
        cust,
        n,
        seed,
        late_days,
        start=start,
        days=90,
        amount_factor=1.5,
        worse_group=worse_group,
    )
