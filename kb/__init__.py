"""Huiying's text engine (no DB, no HTTP): `kb.normalise`, `kb.segment`, and the ranked Q&A index `kb.index`.

Nothing is re-exported here, so that importing `kb.normalise` does not load numpy and the index.
"""
