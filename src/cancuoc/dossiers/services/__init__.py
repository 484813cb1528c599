"""Every write on dossiers: receipt, each lifecycle step, fees and delivery.

Each service is keyword-only and runs in one transaction that checks the actor's
capability (``lifecycle.ACTION_CAPABILITY``) and unit scope, checks the transition table,
changes the dossier, writes one ``DossierTransition`` (the processing control sheet,
Mẫu 05) and one audit row, and appends the events whose rollups the reports read
(contract in helper-tasks/contracts.md). Any refusal raises a ``DomainError`` before
anything is written, or rolls the whole transaction back, so nothing is half-applied.

Every action takes ``at`` (default: now) so that the demo can backfill a history; an
action may not be dated before the dossier's previous step.

Where a dossier lives (Decree 118/2025): a clerk may receive a dossier for any current
unit of their own province. ``Dossier.unit`` is then the competent unit, which scopes the
dossier and counts it in reports, and ``receiving_unit`` is the clerk's unit, which
numbers it (the code carries the receiving unit's identifier). Every later step needs the
competent unit in the actor's scope; the receiving clerk keeps read access through the
selectors (to reprint the receipt and answer the citizen) but does not act on it.

Modules: ``intake`` (receive, refuse at intake, on the spot), ``steps`` (every later
lifecycle action through ``dossier_act``), ``fees`` (fees and postal delivery), and
``_common`` (errors, labels, checks, the control-sheet record and events). Import the
public names from this package.
"""

from cancuoc.dossiers.services._common import (
    ACTION_LABELS,
    COMPETENT_LEVELS,
    DELIVERY_UPDATE,
    FEE_EXEMPT,
    FEE_PAY,
    DossierError,
    DuplicateSubmission,
    IllegalAction,
)
from cancuoc.dossiers.services.fees import (
    dossier_delivery_update,
    dossier_fee_exempt,
    dossier_fee_pay,
)
from cancuoc.dossiers.services.intake import (
    dossier_on_the_spot,
    dossier_receive,
    dossier_reject_at_intake,
)
from cancuoc.dossiers.services.steps import (
    dossier_act,
    dossier_act_many,
    dossier_apologise,
    dossier_appraise,
    dossier_approve,
    dossier_refuse,
    dossier_result_ready,
    dossier_return,
    dossier_route,
    dossier_sign,
    dossier_supplement_receive,
    dossier_supplement_request,
    dossier_transfer,
    dossier_withdraw,
)

__all__ = [
    "ACTION_LABELS",
    "COMPETENT_LEVELS",
    "DELIVERY_UPDATE",
    "FEE_EXEMPT",
    "FEE_PAY",
    "DossierError",
    "DuplicateSubmission",
    "IllegalAction",
    "dossier_act",
    "dossier_act_many",
    "dossier_apologise",
    "dossier_appraise",
    "dossier_approve",
    "dossier_delivery_update",
    "dossier_fee_exempt",
    "dossier_fee_pay",
    "dossier_on_the_spot",
    "dossier_receive",
    "dossier_refuse",
    "dossier_reject_at_intake",
    "dossier_result_ready",
    "dossier_return",
    "dossier_route",
    "dossier_sign",
    "dossier_supplement_receive",
    "dossier_supplement_request",
    "dossier_transfer",
    "dossier_withdraw",
]
