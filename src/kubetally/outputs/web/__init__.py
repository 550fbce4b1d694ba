"""``kubetally serve``'s HTTP side, in two halves.

- :mod:`kubetally.outputs.web.views` renders an Overview: /metrics, the JSON API, the OpenAPI file and the
  dashboard pages (polars, jinja2). It runs in a short-lived worker process.
- :mod:`kubetally.outputs.web.bundle`, :mod:`~kubetally.outputs.web.query` and
  :mod:`~kubetally.outputs.web.server` are standard library only: the long-lived server answers from the bytes a
  worker rendered, so it never holds a dataset or the libraries that compute on one.

This package's ``__init__`` imports nothing, so the light half stays light.
"""
