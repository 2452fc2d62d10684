"""Models of the ssl task: R3D-18 (:mod:`.r3d`) and Catch-the-Patch (:mod:`.ctp`)."""
