"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi``."""

from idsvc.startup import wsgi_app

app = wsgi_app()
