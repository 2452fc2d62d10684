"""The one Markdown table and line-plot writer that every comparison uses."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fedvideo.utils import atomic_savefig  # noqa: E402

__all__ = ["Series", "bar_plot", "line_plot", "markdown_table"]

#: Legend label -> (x values, y values) of one line.
Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render a header and rows of already formatted cells as a Markdown table.

    Raises
    ------
    ValueError
        If a row has another number of cells than the header.
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {list(row)} has {len(row)} cells, not {len(header)}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def line_plot(
    series: Series,
    path: Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    hlines: Mapping[str, float] | None = None,
    xticks: Sequence[str] | None = None,
    shaded: Sequence[float] = (),
    figsize: tuple[float, float] = (6.5, 4.0),
) -> Path:
    """Plot one marked line per series and write the figure atomically.

    Parameters
    ----------
    series : Series
        Legend label -> (xs, ys); drawn in order.
    path : Path
        Image file to write (format from the suffix); its folder is created.
    xlabel, ylabel : str
        Axis labels.
    title : str, optional
        Figure title.
    hlines : Mapping[str, float], optional
        Legend label -> y of a dashed grey reference line (e.g. bicubic).
    xticks : Sequence[str], optional
        Tick labels at x = 0, 1, ... (categorical axes, written at 30°).
    shaded : Sequence[float]
        x positions to shade (e.g. the resolutions seen in training).
    figsize : tuple[float, float]
        Figure size in inches.

    Returns
    -------
    Path
        ``path``.
    """
    fig, ax = plt.subplots(figsize=figsize)
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", markersize=4, label=label)
    for label, y in (hlines or {}).items():
        ax.axhline(y, color="gray", linestyle="--", label=label)
    for x in shaded:
        ax.axvline(x, color="grey", alpha=0.25, linewidth=6)
    if xticks is not None:
        ax.set_xticks(range(len(xticks)), xticks, rotation=30)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, path)
    plt.close(fig)
    return path


def bar_plot(
    values: Mapping[str, tuple[float, float]],
    path: Path,
    *,
    ylabel: str,
    title: str | None = None,
) -> Path:
    """Plot one horizontal bar per label, with an error bar, written atomically.

    Parameters
    ----------
    values : Mapping[str, tuple[float, float]]
        Label -> (value, error), e.g. mean and standard deviation over seeds;
        drawn top to bottom in order. A NaN error draws no error bar.
    path : Path
        Image file to write (format from the suffix); its folder is created.
    ylabel : str
        Label of the value axis.
    title : str, optional
        Figure title.

    Returns
    -------
    Path
        ``path``.
    """
    labels = list(values)
    # Long labels (e.g. several settings) get room of their own beside the bars.
    width = max(7.0, 4.0 + 0.08 * max((len(label) for label in labels), default=0))
    fig, ax = plt.subplots(figsize=(width, 1.2 + 0.45 * len(labels)))
    positions = range(len(labels))[::-1]
    means = [values[label][0] for label in labels]
    errors = [
        0.0 if math.isnan(values[label][1]) else values[label][1] for label in labels
    ]
    ax.barh(positions, means, xerr=errors, capsize=3, color="tab:blue", alpha=0.8)
    ax.set_yticks(list(positions), labels)
    ax.set_xlabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    atomic_savefig(fig, path)
    plt.close(fig)
    return path
