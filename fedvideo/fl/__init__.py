"""The task-agnostic federated core.

* :mod:`~fedvideo.fl.task`: the :class:`~fedvideo.fl.task.Task` interface that
  every task package implements, and what a client round reports.
* :mod:`~fedvideo.fl.client_info`: which data a client holds (partition or the
  SuperNode's own ``data-dir``).
* :mod:`~fedvideo.fl.training`: the local training loop (steps, learning rate,
  AMP, progress, a strategy's client-side term).
* :mod:`~fedvideo.fl.schedules`: learning-rate schedules as pure functions.
* :mod:`~fedvideo.fl.results`, :mod:`~fedvideo.fl.checkpoint`,
  :mod:`~fedvideo.fl.resume`, :mod:`~fedvideo.fl.after_round`: the server's round
  bookkeeping (results on disk, round checkpoints, resuming a run).
* :mod:`~fedvideo.fl.flower_compat`: the few Flower internals fedvideo uses,
  each looked up in every location Flower has kept it in.

Nothing here imports a task package: tasks depend on the core, never the reverse.
"""
