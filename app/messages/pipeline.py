"""Transitional alias: the pipeline moved to `app.intake.pipeline`. Only `app/scheduler.py` still imports
it from here (that file is being restructured on another branch); delete this module once it imports
`app.intake.pipeline` directly."""

from app.intake.pipeline import Pipeline

__all__ = ["Pipeline"]
