"""Huiying's text engine (no DB, no HTTP): `kb.normalise`, `kb.segment`, the ranked Q&A index `kb.index`,
and the routing model (`kb.classifier`: unit centroids over character grams).

Nothing is re-exported here, so that importing `kb.normalise` does not load numpy and the index.
"""
