"""The store's Prometheus metrics, declared once, below every app.

Domain apps (``orders``, ``notifications``, ...) count into these objects;
``bookstore.metrics`` serves them at ``/metrics``. This package imports only
``prometheus_client`` and Django's transaction API, so every app may import it
without the arrows of the dependency direction turning round.
"""
