"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi``."""

from idsvc.startup import serving_app

app = serving_app()
