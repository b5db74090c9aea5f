"""The domain: the target pipeline and any other, the images, the models, and how they are fitted and scored.

Nothing here knows about notebooks, tables or figures; the experiments and the report build on it.
"""
