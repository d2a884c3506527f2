"""Signals the registry sends to the subdomains above it, which it never imports.

They are sent with the app as sender, and a subdomain connects its receivers for one app in
``create_app`` (its ``receivers.init_app``). A receiver runs inside the registry's call, in the
same session: what it writes commits or rolls back with the registry's change.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A death (``citizen.status == "deceased"``) or a declared disappearance (``"missing"``) was
#: recorded. Keyword arguments: ``citizen``, and ``actor`` for the audit trail.
death_recorded = _signals.signal("registry.death-recorded")

#: A duplicate record was merged into the record of the same person (``duplicate.merged_into_id
#: == survivor.id``). Keyword arguments: ``survivor``, ``duplicate``, ``actor``.
records_merged = _signals.signal("registry.records-merged")
