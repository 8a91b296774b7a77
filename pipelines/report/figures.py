"""The run report's figures, drawn from one run's result tables and saved as PNG + SVG.

Every number on a figure is read from ``results.*`` (curves, log-rank, Cox and spline
rows); nothing is recomputed. Of ``group_assignments`` (the only table with patient ids)
only the ``value`` column is read, for the partial-effect plot's rug.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import duckdb
import polars as pl
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analysis.figures.forest import draw_forest
from analysis.figures.km import days_per_unit, draw_km_panel
from analysis.figures.partial_effect import draw_partial_effect, spline_test_text
from analysis.formatting import format_count, format_hr, format_p
from pipelines.report.files import FIGURE_KINDS, FigureFile
from pipelines.report.settings import RunSettings
from pipelines.warehouse import existing_tables

DPI = 300
PANEL_WIDTH_IN = 3.5
PANEL_HEIGHT_IN = 3.6
HR_TERM = "Q2-Q4 vs Q1"
#: The columns of an estimate drawn in the forest plot.
_ESTIMATE = ("hazard_ratio", "ci_lower", "ci_upper", "p_value")
ENDPOINT_NAMES = {"pfs": "PFS", "os": "OS"}
GROUP_ORDERS = {"q1_vs_rest": ("Q1", "Q2-Q4"), "quartiles": ("Q1", "Q2", "Q3", "Q4")}
FONTS = {
    "font.size": 7,
    "axes.titlesize": 8,
    "axes.labelsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "figure.titlesize": 8,
    "svg.fonttype": "none",
}


def km_panel_steps(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    biomarker: str,
    endpoint: str,
    grouping: str,
    subgroup: str,
) -> pl.DataFrame:
    """The ``km_curves`` rows one KM panel plots, ordered by group and time."""
    return con.sql(
        "select group_label, time_days, n_at_risk, events, censored, survival, "
        "ci_lower, ci_upper from results.km_curves where run_id = $run_id "
        "and biomarker = $biomarker and endpoint = $endpoint and grouping = $grouping "
        "and subgroup = $subgroup order by group_label, time_days",
        params={
            "run_id": run_id,
            "biomarker": biomarker,
            "endpoint": endpoint,
            "grouping": grouping,
            "subgroup": subgroup,
        },
    ).pl()


def render_figures(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    out_dir: Path,
    *,
    time_unit: str = "years",
    days_per_year: float = RunSettings.days_per_year,
    landmark_years: float = 3.0,
    part: tuple[int, int] = (0, 1),
) -> list[FigureFile]:
    """Draw and save the figures of ``run_id`` into ``out_dir``; return their records.

    ``days_per_year`` is the run's recorded convention (``RunSettings.days_per_year``):
    it converts the stored days into ``time_unit`` and places the landmark.

    ``part=(k, n)`` draws only every n-th biomarker x endpoint panel set starting at k
    (and the forest plot in part 0), so that n processes can share the work; the
    records come back in report order within the part (see :func:`report_order`).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(con, run_id)
    index, count = part
    saved: list[FigureFile] = []
    with matplotlib.rc_context(FONTS):
        for biomarker, endpoint in run.panels()[index::count]:
            options = {
                "time_unit": time_unit,
                "days_per_year": days_per_year,
                "landmark_years": landmark_years,
            }
            saved.append(_km_q1_vs_rest(run, biomarker, endpoint, out_dir, **options))
            saved.append(_km_quartiles(run, biomarker, endpoint, out_dir, **options))
            partial_effect = _partial_effect(run, biomarker, endpoint, out_dir)
            if partial_effect is not None:
                saved.append(partial_effect)
            subgroups = _km_subgroups(run, biomarker, endpoint, out_dir, **options)
            if subgroups is not None:
                saved.append(subgroups)
        if index == 0:
            saved.append(_forest(run, out_dir))
    return saved


def report_order(con: duckdb.DuckDBPyConnection, run_id: str, figures: list[FigureFile]):
    """``figures`` from several parts in the order one process would have drawn them."""
    panels = {panel: number for number, panel in enumerate(_Run(con, run_id).panels())}
    kinds = {kind: number for number, kind in enumerate(FIGURE_KINDS)}
    scan_kinds = {"scan_volcano": 0, "scan_top_genes": 1}

    def key(figure: FigureFile) -> tuple[int, int, int]:
        if figure.kind in scan_kinds:  # after the study's figures, by endpoint
            endpoint = 0 if figure.endpoint == "pfs" else 1
            return len(panels) + 1, endpoint, scan_kinds[figure.kind]
        panel = panels.get((figure.biomarker, figure.endpoint), len(panels))  # type: ignore[arg-type]
        return panel, kinds.get(figure.kind, len(kinds)), 0

    return sorted(figures, key=key)


class _Run:
    """One run's rows, read once."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        self.con = con
        self.run_id = run_id
        params = {"run_id": run_id}
        runs = con.sql(
            "select is_simulated from results.analysis_runs where run_id = $run_id",
            params=params,
        ).fetchall()
        if not runs:
            raise ValueError(f"no analysis run {run_id!r}")
        self.is_simulated = bool(runs[0][0])
        self.logrank = con.sql(
            "select biomarker, endpoint, grouping, subgroup, test, p_value, status "
            "from results.logrank_tests where run_id = $run_id",
            params=params,
        ).pl()
        self.cox = con.sql(
            "select biomarker, endpoint, grouping, subgroup, model, "
            "coalesce(method, 'mle') as method, term, hazard_ratio, "
            "ci_lower, ci_upper, p_value, lrt_p_value, status, note "
            "from results.cox_models where run_id = $run_id",
            params=params,
        ).pl()
        self.curve_keys = con.sql(
            "select distinct biomarker, endpoint, grouping, subgroup "
            "from results.km_curves where run_id = $run_id order by all",
            params=params,
        ).pl()
        # Runs recorded before the continuous models existed have no such tables.
        self.has_continuous = {
            "results.continuous_curves",
            "results.continuous_models",
        } <= existing_tables(con, "results")

    def panels(self) -> list[tuple[str, str]]:
        keys = self.curve_keys.select("biomarker", "endpoint").unique()
        rows = keys.sort("biomarker", pl.col("endpoint").replace_strict({"pfs": 0}, default=1))
        return list(rows.iter_rows())

    def subgroups(self, biomarker: str, endpoint: str) -> list[str]:
        names = self.curve_keys.filter(
            (pl.col("biomarker") == biomarker)
            & (pl.col("endpoint") == endpoint)
            & (pl.col("grouping") == "q1_vs_rest")
            & (pl.col("subgroup") != "all")
        )["subgroup"].to_list()
        return sorted(names, key=lambda name: (not name.endswith("=standard"), name))

    def title(self, biomarker: str, endpoint: str) -> str:
        simulated = " (simulated data)" if self.is_simulated else ""
        return f"{biomarker}, {ENDPOINT_NAMES.get(endpoint, endpoint.upper())}{simulated}"

    def logrank_row(self, key: tuple[str, str, str, str], test: str) -> dict[str, Any] | None:
        return _one(self.logrank, key, test=test)

    def hr_row(self, key: tuple[str, str, str, str], method: str = "mle") -> dict[str, Any] | None:
        return _one(self.cox, key, model="univariable", term=HR_TERM, method=method)

    def interaction_text(self, biomarker: str, endpoint: str, variable: str) -> str:
        """``cytogenetic risk interaction p=0.41 (LRT)``, or why there is no such test."""
        rows = self.cox.filter(
            (pl.col("biomarker") == biomarker)
            & (pl.col("endpoint") == endpoint)
            & (pl.col("grouping") == "q1_vs_rest")
            & (pl.col("model") == "interaction")
            & (pl.col("subgroup") == f"{variable} interaction")
        )
        name = variable.replace("_", " ")
        if not rows.height:
            return f"{name} interaction not computed"
        row = rows.row(0, named=True)
        if row["lrt_p_value"] is not None:
            return f"{name} interaction {format_p(row['lrt_p_value'])} (LRT)"
        return str(row["note"] or f"{name} interaction not estimable ({row['status']})")


def _one(frame: pl.DataFrame, key: tuple[str, str, str, str], **more: str) -> dict | None:
    names = ("biomarker", "endpoint", "grouping", "subgroup", *more)
    values = (*key, *more.values())
    rows = frame.filter(*[pl.col(n) == v for n, v in zip(names, values, strict=True)])
    return rows.row(0, named=True) if rows.height else None


def _test_text(name: str, row: dict[str, Any] | None) -> str:
    if row is None:
        return f"{name} not run"
    if row["p_value"] is None:
        return f"{name} not estimable ({row['status']})"
    return f"{name} {format_p(row['p_value'])}"


def _hr_text(row: dict[str, Any] | None, firth: dict[str, Any] | None = None) -> str:
    """The univariable HR; where it does not exist, the Firth-penalised one, labelled."""
    if row is None:
        return "HR not fitted"
    if row["hazard_ratio"] is None:
        if firth is not None and firth["hazard_ratio"] is not None:
            interval = format_hr(firth["hazard_ratio"], firth["ci_lower"], firth["ci_upper"])
            return f"Firth HR {interval}"
        return f"HR not estimable ({row['status']})"
    return f"HR {format_hr(row['hazard_ratio'], row['ci_lower'], row['ci_upper'])}"


def _subgroup_name(subgroup: str) -> str:
    variable, _, level = subgroup.partition("=")
    return f"{variable.replace('_', ' ')}: {level}"


def _draw_panel(
    figure: Figure,
    column: int,
    top_in: float,
    run: _Run,
    key: tuple[str, str, str, str],
    annotation: str,
    title: str,
    *,
    time_unit: str,
    days_per_year: float,
    landmark_years: float,
) -> None:
    """One KM panel in column ``column`` of ``figure``, ``top_in`` inches below its top:
    the curves, and the numbers-at-risk table under the time axis."""
    width, height = figure.get_size_inches()
    left = (column * PANEL_WIDTH_IN + 0.62) / width
    panel_width = (PANEL_WIDTH_IN - 0.62 - 0.15) / width
    km_bottom = 1.25 / height
    axes = figure.add_axes((left, km_bottom, panel_width, 1 - top_in / height - km_bottom))
    risk = figure.add_axes((left, 0.08 / height, panel_width, 0.6 / height))
    curves = km_panel_steps(run.con, run.run_id, *key)
    per_unit = days_per_unit(time_unit, days_per_year)
    max_time = curves["time_days"].max() / per_unit if curves.height else 1.0
    ticks = [t for t in MaxNLocator(nbins=6, integer=True).tick_values(0, max_time) if t >= 0]
    ticks = [t for t in ticks if t <= max_time] or [0.0]
    draw_km_panel(
        axes,
        curves,
        GROUP_ORDERS[key[2]],
        time_unit=time_unit,
        days_per_year=days_per_year,
        landmark_years=landmark_years,
        annotation=annotation,
        risk_axes=risk,
        risk_times_units=ticks,
    )
    axes.set_xticks(ticks)
    axes.set_xlim(0, max_time * 1.02)
    risk.set_xlim(axes.get_xlim())
    # headroom above S = 1 for the test results, so they never sit on a curve
    axes.set_ylim(0, 1.2)
    axes.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    axes.set_title(title, loc="left")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def save_figure(
    figure: Figure,
    out_dir: Path,
    kind: str,
    biomarker: str | None,
    endpoint: str | None,
    caption: str,
    *,
    tight: bool = False,
) -> FigureFile:
    """Write PNG and SVG; ``tight`` grows the canvas to text drawn outside the axes."""
    stem = "_".join(part for part in (kind, biomarker, endpoint) if part)
    png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
    bbox = {"bbox_inches": "tight", "pad_inches": 0.1} if tight else {}
    figure.savefig(png, dpi=DPI, **bbox)
    figure.savefig(svg, **bbox)
    plt.close(figure)
    return FigureFile(kind, biomarker, endpoint, png, svg, caption)


def _km_q1_vs_rest(
    run: _Run, biomarker: str, endpoint: str, out_dir: Path, **options
) -> FigureFile:
    key = (biomarker, endpoint, "q1_vs_rest", "all")
    annotation = "\n".join(
        (
            _test_text("log-rank", run.logrank_row(key, "logrank")),
            _hr_text(run.hr_row(key), run.hr_row(key, "firth")),
        )
    )
    figure = plt.figure(figsize=(PANEL_WIDTH_IN, PANEL_HEIGHT_IN))
    _draw_panel(figure, 0, 0.3, run, key, annotation, run.title(biomarker, endpoint), **options)
    caption = (
        f"Kaplan-Meier {ENDPOINT_NAMES.get(endpoint, endpoint)} by {biomarker} expression, "
        "lowest quartile (Q1) versus the rest, with numbers at risk, log-rank p and the "
        "hazard ratio of Q2-Q4 versus Q1."
    )
    return save_figure(figure, out_dir, "km_q1_vs_rest", biomarker, endpoint, caption)


def _km_quartiles(run: _Run, biomarker: str, endpoint: str, out_dir: Path, **options) -> FigureFile:
    key = (biomarker, endpoint, "quartiles", "all")
    annotation = "\n".join(
        (
            _test_text("log-rank", run.logrank_row(key, "logrank")),
            _test_text("trend", run.logrank_row(key, "logrank_trend")),
        )
    )
    figure = plt.figure(figsize=(PANEL_WIDTH_IN, PANEL_HEIGHT_IN + 0.2))
    _draw_panel(figure, 0, 0.3, run, key, annotation, run.title(biomarker, endpoint), **options)
    caption = (
        f"Kaplan-Meier {ENDPOINT_NAMES.get(endpoint, endpoint)} by {biomarker} expression "
        "quartile (Q1 lowest), with numbers at risk, the log-rank p and the trend-test p."
    )
    return save_figure(figure, out_dir, "km_quartiles", biomarker, endpoint, caption)


def continuous_curve(
    con: duckdb.DuckDBPyConnection, run_id: str, biomarker: str, endpoint: str, subgroup: str
) -> pl.DataFrame:
    """The ``continuous_curves`` rows one partial-effect plot draws, ordered by value."""
    return con.sql(
        "select value, log_hr, ci_lower, ci_upper from results.continuous_curves "
        "where run_id = $run_id and biomarker = $biomarker and endpoint = $endpoint "
        "and subgroup = $subgroup order by value",
        params={
            "run_id": run_id,
            "biomarker": biomarker,
            "endpoint": endpoint,
            "subgroup": subgroup,
        },
    ).pl()


def _spline_row(run: _Run, biomarker: str, endpoint: str) -> dict[str, Any] | None:
    """The whole-cohort ``rcs`` row, with the value's scale (from any model's row)."""
    rows = run.con.sql(
        "select lr_p, nonlinearity_p, json_array_length(knots) as n_knots, status, note, "
        "(select max(scale) from results.continuous_models as other "
        " where other.run_id = rcs.run_id and other.biomarker = rcs.biomarker "
        " and other.endpoint = rcs.endpoint and other.subgroup = rcs.subgroup) as scale "
        "from results.continuous_models as rcs where run_id = $run_id "
        "and biomarker = $biomarker and endpoint = $endpoint and subgroup = 'all' "
        "and model = 'rcs'",
        params={"run_id": run.run_id, "biomarker": biomarker, "endpoint": endpoint},
    ).pl()
    return rows.row(0, named=True) if rows.height else None


def _quartile_cut_points(run: _Run, biomarker: str, endpoint: str) -> list[float]:
    """The whole cohort's Q1|Q2, Q2|Q3 and Q3|Q4 cut points (upper bounds of Q1-Q3)."""
    rows = run.con.sql(
        "select cutpoint_high from results.group_summary where run_id = $run_id "
        "and biomarker = $biomarker and endpoint = $endpoint and grouping = 'quartiles' "
        "and subgroup = 'all' and group_label in ('Q1', 'Q2', 'Q3') "
        "and cutpoint_high is not null order by group_label",
        params={"run_id": run.run_id, "biomarker": biomarker, "endpoint": endpoint},
    ).fetchall()
    return [value for (value,) in rows]


def _patient_values(run: _Run, biomarker: str) -> list[float]:
    """The whole cohort's values of ``biomarker``, for the rug: values only, never ids
    (one grouping's rows, so that each patient appears once)."""
    rows = run.con.sql(
        "select value from results.group_assignments where run_id = $run_id "
        "and biomarker = $biomarker and subgroup = 'all' and value is not null "
        "and grouping = (select min(grouping) from results.group_assignments "
        " where run_id = $run_id and biomarker = $biomarker and subgroup = 'all') "
        "order by value",
        params={"run_id": run.run_id, "biomarker": biomarker},
    ).fetchall()
    return [value for (value,) in rows]


def _partial_effect(run: _Run, biomarker: str, endpoint: str, out_dir: Path) -> FigureFile | None:
    """The spline's partial effect in the whole cohort; None without curve rows."""
    if not run.has_continuous:
        return None
    curve = continuous_curve(run.con, run.run_id, biomarker, endpoint, "all")
    if not curve.height:
        return None
    spline = _spline_row(run, biomarker, endpoint) or {}
    annotation = spline_test_text(spline.get("lr_p"), spline.get("nonlinearity_p"))
    if spline.get("status") not in (None, "ok"):
        annotation += f"\n{spline.get('note') or spline['status']}"
    scale = spline.get("scale")
    figure = plt.figure(figsize=(PANEL_WIDTH_IN, PANEL_HEIGHT_IN - 0.4), layout="constrained")
    axes = figure.add_subplot()
    draw_partial_effect(
        axes,
        curve,
        value_label=f"{biomarker}, {scale}" if scale else biomarker,
        cut_points=_quartile_cut_points(run, biomarker, endpoint),
        patient_values=_patient_values(run, biomarker),
        annotation=annotation,
    )
    axes.set_title(run.title(biomarker, endpoint), loc="left")
    knots = spline.get("n_knots")
    spline_name = (
        f"restricted cubic spline ({format_count(knots)} knots)"
        if knots
        else "restricted cubic spline"
    )
    caption = (
        f"Partial effect of {biomarker} on {ENDPOINT_NAMES.get(endpoint, endpoint)}, "
        f"whole cohort: Cox model with a {spline_name}, log relative hazard versus the "
        "median value with its pointwise 95% CI; dotted lines mark the quartile cut "
        "points and ticks along the axis the patients' values; the spline's "
        "likelihood-ratio p and the non-linearity p (spline versus linear) are nominal."
    )
    return save_figure(figure, out_dir, "partial_effect", biomarker, endpoint, caption)


def _km_subgroups(
    run: _Run, biomarker: str, endpoint: str, out_dir: Path, **options
) -> FigureFile | None:
    subgroups = run.subgroups(biomarker, endpoint)
    if not subgroups:
        return None
    figure = plt.figure(figsize=(PANEL_WIDTH_IN * len(subgroups), PANEL_HEIGHT_IN + 0.5))
    for index, subgroup in enumerate(subgroups):
        key = (biomarker, endpoint, "q1_vs_rest", subgroup)
        annotation = "\n".join(
            (
                _test_text("log-rank", run.logrank_row(key, "logrank")),
                _hr_text(run.hr_row(key), run.hr_row(key, "firth")),
            )
        )
        title = f"{run.title(biomarker, endpoint)}\n{_subgroup_name(subgroup)}"
        _draw_panel(figure, index, 0.75, run, key, annotation, title, **options)
    variables = sorted({s.partition("=")[0] for s in subgroups})
    interaction = [run.interaction_text(biomarker, endpoint, v) for v in variables]
    figure.suptitle(
        "; ".join(interaction), y=1 - 0.05 / figure.get_size_inches()[1], va="top", fontsize=8
    )
    caption = (
        f"Kaplan-Meier {ENDPOINT_NAMES.get(endpoint, endpoint)} by {biomarker} expression, "
        "Q1 versus Q2-Q4, within each subgroup, with the likelihood-ratio interaction p "
        "(nominal) or the reason it cannot be estimated: a difference between the panels is "
        "evidence of a subgroup-specific effect only through that test."
    )
    return save_figure(figure, out_dir, "km_subgroups", biomarker, endpoint, caption)


def _forest(run: _Run, out_dir: Path) -> FigureFile:
    univariable = run.cox.filter(
        (pl.col("grouping") == "q1_vs_rest")
        & (pl.col("model") == "univariable")
        & (pl.col("term") == HR_TERM)
    )
    firth = univariable.filter(pl.col("method") == "firth").select(
        "biomarker", "endpoint", "subgroup", *(pl.col(c).alias(f"firth_{c}") for c in _ESTIMATE)
    )
    rows = (
        univariable.filter(pl.col("method") == "mle")
        .join(firth, on=["biomarker", "endpoint", "subgroup"], how="left")
        .with_columns(
            # Where the MLE does not exist, the Firth estimate is drawn, labelled as such.
            use_firth=pl.col("hazard_ratio").is_null() & pl.col("firth_hazard_ratio").is_not_null()
        )
        .with_columns(
            *(
                pl.when(pl.col("use_firth"))
                .then(pl.col(f"firth_{c}"))
                .otherwise(pl.col(c))
                .alias(c)
                for c in _ESTIMATE
            )
        )
        .with_columns(
            pl.col("endpoint").replace_strict({"pfs": 0}, default=1).alias("endpoint_order"),
            pl.when(pl.col("subgroup") == "all")
            .then(0)
            .when(pl.col("subgroup").str.ends_with("=standard"))
            .then(1)
            .otherwise(2)
            .alias("subgroup_order"),
        )
        .sort("biomarker", "endpoint_order", "subgroup_order", "subgroup")
    )
    labels, extras = [], []
    for b, e, s, with_firth in rows.select(
        "biomarker", "endpoint", "subgroup", "use_firth"
    ).iter_rows():
        variable, _, level = s.partition("=")
        label = f"{b} {ENDPOINT_NAMES.get(e, e)}, {'all' if s == 'all' else level}"
        labels.append(label + (" (Firth)" if with_firth else ""))
        # Every subgroup row carries its interaction test, or why there is none.
        extras.append(run.interaction_text(b, e, variable) if s != "all" else None)
    frame = rows.select(
        pl.Series("label", labels, dtype=pl.String),
        "hazard_ratio",
        "ci_lower",
        "ci_upper",
        "p_value",
        pl.coalesce(pl.col("note"), pl.format("not estimable ({})", pl.col("status"))),
        pl.Series("extra", extras, dtype=pl.String),
    )
    # 1 inch of title and axis labels around 0.17 inch per row (at least two rows' worth).
    height = 1.0 + 0.17 * max(frame.height, 2)
    # No constrained layout: the row labels and the texts right of the axes are as long
    # as their reasons; the saved canvas grows to them (save_figure(tight=True)).
    figure = plt.figure(figsize=(PANEL_WIDTH_IN * 1.6, height))
    axes = figure.add_axes((0.0, 0.6 / height, 1.0, 1.0 - 1.0 / height))
    draw_forest(axes, frame)
    simulated = " (simulated data)" if run.is_simulated else ""
    figure.suptitle(f"Hazard ratio Q2-Q4 vs Q1, univariable Cox{simulated}")
    caption = (
        "Univariable Cox hazard ratios (95% CI) of Q2-Q4 versus Q1 for every biomarker, "
        "endpoint and subgroup, on a log scale, with nominal p-values. Where the maximum-"
        "likelihood HR does not exist (a group without events), the Firth-penalised HR "
        "with its profile-likelihood interval is drawn, marked (Firth); models without any "
        "estimate are marked not estimable with the reason. Subgroup rows carry the "
        "interaction likelihood-ratio p or the reason it cannot be estimated."
    )
    return save_figure(figure, out_dir, "forest", None, None, caption, tight=True)
