"""Example worker applications (``python -m relays.wsgi examples.hello:app``)."""
