"""Models of the pose task.

ViTPose (:mod:`.vitpose`) and loading MAE/ViT backbone weights into it
(:mod:`.vit_weights`).
"""
