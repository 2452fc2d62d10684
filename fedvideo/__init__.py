"""fedvideo: federated learning on video with Flower (FedVSR, FedVSSL, RAF)."""

__version__ = "0.1.0"
