"""Every evaluation metric of fedvideo, in one namespace for users.

Each metric lives in its task's package; this index names them all:

* vsr (:mod:`fedvideo.tasks.vsr.metrics`): :func:`psnr` and :func:`ssim` with
  BasicSR's conventions (8-bit rounding, crop border, optional Y channel of
  BT.601 from :func:`rgb_to_y`).
* pose (:mod:`fedvideo.tasks.pose.metrics`): MPII's :func:`pckh`.
* ssl: retrieval recall and top-k accuracy are in
  :mod:`fedvideo.tasks.ssl.downstream` with the protocols they belong to.

fedvideo's own code imports from the task packages, never from here.
"""

from fedvideo.tasks.pose.metrics import PCKH_MEAN_EXCLUDED, pckh
from fedvideo.tasks.vsr.metrics import psnr, rgb_to_y, ssim

__all__ = ["PCKH_MEAN_EXCLUDED", "pckh", "psnr", "rgb_to_y", "ssim"]
