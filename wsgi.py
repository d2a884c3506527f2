"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi``."""

from idsvc import create_app

app = create_app()
