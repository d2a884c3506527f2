"""The registry office: what commune and province clerks do every day.

Life events as proposals (``operations``, ``service``), who may do what where (``authority``), a
second pair of eyes on sensitive changes (maker-checker), the JSON API (``api``), the clerk console
(``views``) and the review queue of the eligibility matcher's uncertain matches (``review_views``).
It sits above ``registry``, ``identity`` and ``eligibility`` and calls their services.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the office's API and console pages.

    :raises RuntimeError: ``OFFICE_IMMEDIATE_OPERATIONS`` names an operation that does not exist (a
        misspelt name would silently send that operation to review).
    """
    from idsvc import web
    from idsvc.office import api
    from idsvc.office import operations
    from idsvc.office import review_views
    from idsvc.office import views

    unknown = sorted(set(app.config["OFFICE_IMMEDIATE_OPERATIONS"]) - set(operations.OPERATIONS))
    if unknown:
        raise RuntimeError(f"IDSVC_OFFICE_IMMEDIATE_OPERATIONS names unknown operations: {', '.join(unknown)}; "
                           f"they are: {', '.join(sorted(operations.OPERATIONS))}")
    app.register_blueprint(api.bp)
    web.csrf.exempt(api.bp)  # bearer tokens, no cookies: nothing to forge
    app.register_blueprint(views.bp)
    app.register_blueprint(review_views.bp)
