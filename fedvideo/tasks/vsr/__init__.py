"""Video super-resolution (FedVSR): the ``vsr`` task.

* :mod:`~fedvideo.tasks.vsr.task`: :class:`~fedvideo.tasks.vsr.task.VSRTask`.
* :mod:`~fedvideo.tasks.vsr.config`: its run-config sections.
* :mod:`~fedvideo.tasks.vsr.models`: BasicVSR, EDVR, a VRT-style transformer and
  external models by import path.
* :mod:`~fedvideo.tasks.vsr.data`: clips, the synthetic dataset, REDS and Vid4.
* :mod:`~fedvideo.tasks.vsr.losses`, :mod:`~fedvideo.tasks.vsr.metrics`: the
  FedVSR objective (Charbonnier + HiFr) and PSNR/SSIM.
* :mod:`~fedvideo.tasks.vsr.evaluation`, :mod:`~fedvideo.tasks.vsr.tiling`:
  scoring whole clips, tile by tile when they are large.
* :mod:`~fedvideo.tasks.vsr.multigrid`: multigrid training's schedule.
* :mod:`~fedvideo.tasks.vsr.upscale`: ``fedvideo upscale``, a trained model on
  a video file.
* :mod:`~fedvideo.tasks.vsr.prepare`, :mod:`~fedvideo.tasks.vsr.bench`: its
  ``fedvideo prepare`` subcommands and its benchmarks.
"""
