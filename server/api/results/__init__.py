"""Results API on one blueprint: search, records and lifecycle (``routes``); import, export, template (``transfer``)."""

from server.api.results import transfer  # noqa: F401  (registers its routes on routes.blp)
