"""gunicorn reads this file from the directory it is started in: the production checks run in
the master, before any worker is forked (elsewhere: ``gunicorn -c python:idsvc.startup …``)."""

from idsvc.startup import on_starting

__all__ = ["on_starting"]
