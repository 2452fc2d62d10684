"""Self-supervised video pretraining (FedVSSL): the ``ssl`` task.

* :mod:`~fedvideo.tasks.ssl.task`: :class:`~fedvideo.tasks.ssl.task.SSLTask`.
* :mod:`~fedvideo.tasks.ssl.config`: its run-config sections.
* :mod:`~fedvideo.tasks.ssl.models`: R3D-18 and the Catch-the-Patch head.
* :mod:`~fedvideo.tasks.ssl.data`: action videos, UCF-101 / HMDB-51 /
  Kinetics-400, the synthetic action dataset, patch pasting and clip datasets.
* :mod:`~fedvideo.tasks.ssl.losses`: the CtP trajectory loss.
* :mod:`~fedvideo.tasks.ssl.downstream`: retrieval and fine-tuning evaluation.
* :mod:`~fedvideo.tasks.ssl.fedvssl_npz`: FedVSSL's published ``.npz`` backbones
  in torchvision's layout (``fedvideo convert-fedvssl``).
* :mod:`~fedvideo.tasks.ssl.prepare`, :mod:`~fedvideo.tasks.ssl.bench`: its
  ``fedvideo prepare`` subcommands and its benchmarks (``ssl-step``, and
  ``ctp-probe``: does CtP pretraining learn at all at a given scale).
"""
