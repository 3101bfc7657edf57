"""The scheduler collects the jobs each domain declares in its `scheduled.py`."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import app
from app.config import get_settings
from app.jobs import Job
from app.scheduler import jobs


def test_every_domain_scheduled_module_is_collected_once():
    collected = jobs(get_settings())
    names = [job.name for job in collected]
    assert len(names) == len(set(names)), "job names are APScheduler ids and must be unique"
    assert all(isinstance(job, Job) and job.seconds > 0 for job in collected)
    declared: set[str] = set()
    for info in pkgutil.iter_modules(app.__path__):
        if not info.ispkg:
            continue
        name = f"app.{info.name}.scheduled"
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        declared_jobs = module.jobs(get_settings()) if module.jobs.__code__.co_argcount else module.jobs()
        declared.update(job.name for job in declared_jobs)
    assert declared == set(names)
