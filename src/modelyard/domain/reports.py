"""The shapes of the JSON documents the product computes: signatures, profiles, baselines,
metrics, monitoring reports, version comparisons and alert outcomes.

They are ``TypedDict``s, not classes with behaviour: the code that computes them (numpy,
pyarrow, scikit-learn) builds plain dicts, which are stored as JSON and sent as they are.
Declaring them here makes them one definition for everything that reads them: the API's
``response_model`` (so OpenAPI describes every field), the HTTP SDK's decoding and mypy.
``typing_extensions.TypedDict``: pydantic reads only that one on Python 3.11."""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypeAliasType, TypedDict

#: Any JSON value, recursively: what a user's free-form parameters or an audit snapshot hold.
Json = TypeAliasType("Json", "dict[str, Json] | list[Json] | str | int | float | bool | None")


# -- signatures ---------------------------------------------------------------------------
class Column(TypedDict):
    name: str
    type: NotRequired[str]  # boolean | integer | float | string | datetime
    nullable: NotRequired[bool]
    categories: NotRequired[list[str]]  # the values seen, when there are few


class Outputs(TypedDict, total=False):
    type: str
    shape: list[int]
    classes: list[str | int | float | bool]


class Signature(TypedDict):
    """The columns a model takes and what it returns (``flavors.signature``)."""

    inputs: NotRequired[list[Column]]
    outputs: NotRequired[Outputs]


# -- profiles and baselines ---------------------------------------------------------------
class NumericalStats(TypedDict):
    kind: Literal["numerical"]
    count: int
    nulls: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    m2: float
    quantiles: dict[str, float]  # p1 … p99
    sample: list[float]  # a reservoir sample, for drift tests
    seen: int


class CategoricalStats(TypedDict):
    kind: Literal["categorical"]
    count: int
    nulls: int
    counts: dict[str, int]


class Baseline(TypedDict):
    """What a version was trained on, profiled: the reference of drift and data quality."""

    dataset: NotRequired[str]  # env/name:version; absent for a window used as reference
    rows: int
    features: dict[str, NumericalStats | CategoricalStats]
    predictions: dict[str, NumericalStats | CategoricalStats]


class NumericalSummary(TypedDict):
    kind: Literal["numerical"]
    count: int
    null_rate: float
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    quantiles: dict[str, float]


class CategoricalSummary(TypedDict):
    kind: Literal["categorical"]
    count: int
    null_rate: float
    categories: int
    top: dict[str, int]  # the most frequent categories and their counts


class ProfileSummary(TypedDict):
    """What a person reads of a dataset's profile (no samples, top categories only)."""

    rows: int
    features: dict[str, NumericalSummary | CategoricalSummary]


# -- metrics --------------------------------------------------------------------------------
class ClassScores(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


class ConfusionMatrix(TypedDict):
    labels: list[str]
    matrix: list[list[int]]  # rows: actual, columns: predicted


class Metrics(TypedDict):
    """Model quality: classification (accuracy …) or regression (mae, rmse, r2)."""

    kind: Literal["classification", "regression"]
    rows: int
    accuracy: NotRequired[float]
    naive_accuracy: NotRequired[float]  # always predicting the most frequent class
    naive_class: NotRequired[str]
    f1_macro: NotRequired[float]
    roc_auc_ovr: NotRequired[float]
    log_loss: NotRequired[float]
    per_class: NotRequired[dict[str, ClassScores]]
    confusion_matrix: NotRequired[ConfusionMatrix]
    mae: NotRequired[float]
    rmse: NotRequired[float]
    r2: NotRequired[float]


class Importance(TypedDict):
    """Global importance: each input's mean absolute contribution to the rows' answers
    (``runtimes.explain``), largest first."""

    method: str  # tree_shap | baseline_shapley
    output: str  # raw_score | probability | prediction
    rows: int  # the rows explained (a sample of the dataset)
    features: dict[str, float]


class EvaluationDetails(TypedDict):
    """What an evaluation found beyond its scalar metrics."""

    kind: Literal["classification", "regression"]
    rows: int
    naive_class: NotRequired[str]
    per_class: NotRequired[dict[str, ClassScores]]
    confusion_matrix: NotRequired[ConfusionMatrix]
    importance: NotRequired[Importance]


# -- monitoring -----------------------------------------------------------------------------
class Drift(TypedDict):
    feature: str
    kind: Literal["numerical", "categorical"]
    method: str  # ks | wasserstein | chi_squared | jensen_shannon
    score: float
    threshold: float
    drifted: bool
    p_value: float | None


class FeatureReport(TypedDict):
    feature: str
    kind: Literal["numerical", "categorical"]
    rows: int
    null_rate: float
    type_error_rate: float
    out_of_bounds_rate: float  # outside the reference's range, or an unseen category
    drift: Drift | None
    wasserstein: NotRequired[float]
    psi: NotRequired[float]
    drift_sample: NotRequired[int]


class Quality(TypedDict):
    null_rate: float
    type_error_rate: float
    out_of_bounds_rate: float


class VariantReport(TypedDict):
    """One variant's window against its reference; without a reference only the counts."""

    variant: str
    rows: int
    reference: str | None
    note: NotRequired[str]  # why there is nothing to compare
    features: NotRequired[list[FeatureReport]]
    drifted_features: NotRequired[list[str]]
    drift_share: NotRequired[float]
    prediction: NotRequired[FeatureReport | None]
    quality: NotRequired[Quality]


class ReportSummary(TypedDict):
    """The numbers an alert rule watches and a trend line draws."""

    rows: int
    drift_share: float | None
    drifted_features: int | None
    feature_drift: dict[str, float]
    prediction_drift: float | None
    null_rate: float | None
    type_error_rate: float | None
    out_of_bounds_rate: float | None
    feedback_rows: int
    pending_rows: int  # rows whose label has not matured (never counted as a class)
    estimated_accuracy: float | None  # when the estimate can be trusted
    estimated_f1_macro: float | None
    money_gap: NotRequired[float | None]  # expected against realized amount, matured items
    accuracy: float | None
    f1_macro: float | None
    mae: float | None
    rmse: float | None


class Cohort(TypedDict):
    """The rows scored in one week (``week``: its Monday) and how many have matured labels."""

    week: str
    rows: int
    pending: int
    labelled: int
    accuracy: NotRequired[float | None]  # a classifier's
    mae: NotRequired[float | None]  # a regressor's


class Estimate(TypedDict):
    """Performance estimated from the predicted probabilities (CBPE), for the variant that
    served most rows: before the labels arrive."""

    variant: str
    accuracy: float
    f1_macro: float
    rows: int
    reference_rows: int  # labelled, matured rows it was calibrated on
    calibration_gap: float | None
    trusted: bool
    reason: str | None  # why it is not trusted


class MoneyGroup(TypedDict):
    """The items of one value of the money view's ``by`` column."""

    value: str | None
    rows: int
    amount: float
    expected: dict[str, float]  # per class: the sum of amount x the class's probability


class MoneyMatured(TypedDict):
    """Expected against realized amount per class, over the items whose outcome matured."""

    rows: int
    amount: float
    expected: dict[str, float]
    realized: dict[str, float]  # per class: the amount of the items that ended in it
    gap: float | None  # largest |expected - realized| over the classes, as a share of amount


class MoneyView(TypedDict):
    """What a classifier's predictions say of an amount column (an invoice's amount): the
    money expected in each class, in total, per value of ``by`` and, once outcomes
    mature, against what was realized. Items are rows, or each first key's latest row."""

    deployment: str
    since: str
    until: str
    amount_column: str
    variant: str | None  # whose classes and rows (the variant that served most)
    classes: list[str]
    rows: int
    amount: float
    expected: dict[str, float]
    predicted: dict[str, float]  # per class: the amount of the items predicted in it
    by: str | None
    groups: list[MoneyGroup]  # largest amount first
    pending: int  # items whose outcome has not matured
    matured: MoneyMatured | None


class LatestPredictions(TypedDict):
    """Each value of a key column with its newest live prediction (``rows``: the key
    columns, ``prediction``, ``probability_<class>``, ``model_version``, ``scored_at``)."""

    deployment: str
    key: str
    since: str
    columns: list[str]
    rows: list[dict[str, str | float | None]]


class Segment(TypedDict):
    """The rows of a report whose ``column`` (an input or key) equals ``value``."""

    column: str
    value: str
    rows: int
    variants: list[VariantReport]
    performance: Metrics | None
    pending: int
    summary: ReportSummary


class MonitoringReport(TypedDict):
    deployment: str
    environment: str
    since: str
    until: str
    against: str  # "baseline" or the reference window, since..until
    rows: int
    variants: list[VariantReport]
    performance: Metrics | None  # over the matured rows that have feedback
    pending: int  # rows of the window whose label has not matured
    cohorts: list[Cohort]  # per scoring week
    segments: list[Segment]  # with ``by``: per value of that column (the most frequent)
    estimated: Estimate | None  # classifiers with probabilities
    money: NotRequired[MoneyView | None]  # with an amount column (``services.money``)
    summary: ReportSummary
    created_at: str
    id: NotRequired[int]  # when it was stored


class ReportListing(TypedDict):
    """A stored report in a deployment's history."""

    id: int
    since: str
    until: str
    against: str
    created_at: str
    summary: ReportSummary


class AlertOutcome(TypedDict):
    """What evaluating one rule found, and what it changed."""

    rule: str
    deployment: str
    value: float | None
    firing: bool
    report_id: int | None
    change: Literal["fired", "resolved"] | None
