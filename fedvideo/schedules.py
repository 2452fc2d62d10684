"""Every learning-rate and training schedule of fedvideo, in one namespace for users.

All are pure functions of (round, local step), so clients stay stateless:

* generic (:mod:`fedvideo.fl.schedules`): :func:`global_progress`,
  :func:`cosine_lr`, :func:`step_lr`, :func:`linear_scaled_lr` and
  :func:`warmup_factor`;
* vsr multigrid training (:mod:`fedvideo.tasks.vsr.multigrid`):
  :func:`multigrid` and its stages.

fedvideo's own code imports from where each is defined, never from here.
"""

from fedvideo.fl.schedules import (
    cosine_lr,
    global_progress,
    linear_scaled_lr,
    step_lr,
    warmup_factor,
)
from fedvideo.tasks.vsr.multigrid import (
    MultigridPoint,
    MultigridStage,
    multigrid,
    multigrid_sizes,
    multigrid_stages,
    stage_at,
)

__all__ = [
    "MultigridPoint",
    "MultigridStage",
    "cosine_lr",
    "global_progress",
    "linear_scaled_lr",
    "multigrid",
    "multigrid_sizes",
    "multigrid_stages",
    "stage_at",
    "step_lr",
    "warmup_factor",
]
