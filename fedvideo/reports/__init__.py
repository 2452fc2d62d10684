"""Comparisons of finished runs: Markdown tables and plots from ``results.json``.

* :mod:`~fedvideo.reports.tables`: the one table and plot writer every comparison uses.
* :mod:`~fedvideo.reports.compare`: held-out metrics of several runs side by side.
* :mod:`~fedvideo.reports.robustness`: final quality against the share of lost uploads.
"""
