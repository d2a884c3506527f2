"""The citizen's own pages: who used my data, an entry's ledger proof, download my data (thin views)."""

from __future__ import annotations

import json

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idsvc import unit_of_work
from idsvc.db import utcnow
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.errors import error_page
from idsvc.i18n import VIETNAM
from idsvc.i18n import current
from idsvc.identity import sessions
from idsvc.mydata import activity
from idsvc.mydata import export
from idsvc.mydata import labels
from idsvc.mydata import proofs

bp = Blueprint("mydata", __name__)


def _attachment(document: object, name: str) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False, indent=1), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/account/activity")
@unit_of_work.read_write  # reads the login session, and touches its idle time
@sessions.login_required(level=sessions.ACCOUNT_LEVEL)
def activity_page() -> ResponseReturnValue:
    login = sessions.current_login()
    assert login is not None
    args = request.args
    try:
        filters = activity.Filters.parse(args.getlist("kind"), args.get("since"), args.get("until"))
        page = activity.entries(login.account, filters, after=args.get("after"))
    except ValidationFailed:
        return render_template("mydata/activity.html", page=None, sealed={}, filters=activity.Filters(),
                               args=args, labels=labels, lang=current(),
                               error=_("The filter is not valid: choose kinds from the list and give dates "
                                       "as day, month and year.")), 400
    sealed = proofs.sealed([e.event_id for e in page.entries if e.event_id is not None])
    return render_template("mydata/activity.html", page=page, sealed=sealed, filters=filters, args=args,
                           labels=labels, lang=current(), error=None)


@bp.get("/account/activity/<int:event_id>/proof")
@unit_of_work.read_write  # seals on demand
@sessions.login_required(level=sessions.ACCOUNT_LEVEL)
def proof(event_id: int) -> ResponseReturnValue:
    login = sessions.current_login()
    assert login is not None
    try:
        activity.event_of(login.account, event_id)
        document = proofs.proof_of(event_id)
    except NotFound:
        return error_page(404, _("No such entry"), _("This entry is not in your history, or not in the ledger yet."),
                          code="not-found")
    return _attachment(document, f"proof-{event_id}.json")


@bp.get("/account/data")
@unit_of_work.read_write  # the download is audited
@sessions.login_required(level=sessions.ACCOUNT_LEVEL)
def download() -> ResponseReturnValue:
    login = sessions.current_login()
    assert login is not None
    document = export.download(login.account)
    return _attachment(document, f"my-data-{utcnow().astimezone(VIETNAM):%Y%m%d}.json")
