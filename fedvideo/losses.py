"""Every training loss of fedvideo, in one namespace for users.

Each loss lives in its task's package; this index names them all:

* vsr (:mod:`fedvideo.tasks.vsr.losses`): :func:`charbonnier`, :func:`dwt3d`
  (one-level 3D DWT, equal to ``pywt.dwtn``), :func:`hifr_loss` and
  :func:`vsr_loss`, the FedVSR objective (Charbonnier + HiFr).
* ssl (:mod:`fedvideo.tasks.ssl.losses`): the Catch-the-Patch trajectory loss
  :func:`ctp_trajectory_loss` and its box-delta encoding.
* pose (:mod:`fedvideo.tasks.pose.losses`): :func:`joints_mse` and RAF's
  :func:`mrkd_loss`.

fedvideo's own code imports from the task packages, never from here.
"""

from fedvideo.tasks.pose.losses import joints_mse, mrkd_loss
from fedvideo.tasks.ssl.losses import (
    CTP_DELTA_STDS,
    ctp_trajectory_loss,
    decode_box_deltas,
    encode_box_deltas,
)
from fedvideo.tasks.vsr.losses import SUBBANDS, charbonnier, dwt3d, hifr_loss, vsr_loss

__all__ = [
    "CTP_DELTA_STDS",
    "SUBBANDS",
    "charbonnier",
    "ctp_trajectory_loss",
    "decode_box_deltas",
    "dwt3d",
    "encode_box_deltas",
    "hifr_loss",
    "joints_mse",
    "mrkd_loss",
    "vsr_loss",
]
