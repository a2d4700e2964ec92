"""WSGI entry point: `gunicorn wsgi:app` from this directory, or `gunicorn 'beauty:create_app()'`."""

from beauty import create_app

app = create_app()
