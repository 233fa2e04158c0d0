"""Our tasks as FHIR R4 Task resources (read-only facade; validated with fhir.resources).

The patient is referenced by our internal id, never by fødselsnummer; the owner is an
Organization reference to the unit, with its HER-id when the directory has one; the
transition is the referral (ServiceRequest) the task is based on and focuses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.tables import TaskRow, Transition, Unit

HER_ID_SYSTEM = "urn:oid:2.16.578.1.12.4.1.2"
TASK_SYSTEM = "urn:overgang:task"
TASK_KIND_SYSTEM = "urn:overgang:task-kind"
TRANSITION_SYSTEM = "urn:overgang:transition"


def _instant(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def organization(unit: Unit) -> dict[str, Any]:
    reference: dict[str, Any] = {
        "reference": f"Organization/{unit.id}",
        "type": "Organization",
        "display": unit.name,
    }
    if unit.her_id:
        reference["identifier"] = {"system": HER_ID_SYSTEM, "value": unit.her_id}
    return reference


def transition_reference(transition: Transition) -> dict[str, Any]:
    return {
        "reference": f"ServiceRequest/{transition.id}",
        "type": "ServiceRequest",
        "identifier": {"system": TRANSITION_SYSTEM, "value": transition.id},
        "display": f"{transition.kind} transition",
    }


def _optional(task: TaskRow, clinical: bool) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if task.business_status:
        extra["businessStatus"] = {"text": task.business_status}
    # A rejection's or cancellation's reason is free text: only for the clinical part.
    if clinical and task.reason and task.status in ("rejected", "cancelled"):
        extra["statusReason"] = {"text": task.reason}
    if task.completed_at:
        extra["executionPeriod"] = {
            "start": _instant(task.created_at),
            "end": _instant(task.completed_at),
        }
    return extra


def task_resource(
    task: TaskRow, transition: Transition, owner: Unit, *, clinical: bool
) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "id": task.id,
        "meta": {"lastUpdated": _instant(task.updated_at)},
        "identifier": [{"system": TASK_SYSTEM, "value": task.id}],
        "basedOn": [transition_reference(transition)],
        "focus": transition_reference(transition),
        "status": task.status,
        "intent": "order",
        "code": {"coding": [{"system": TASK_KIND_SYSTEM, "code": task.kind}]},
        "for": {"reference": f"Patient/{transition.patient_id}", "type": "Patient"},
        "authoredOn": _instant(task.created_at),
        "lastModified": _instant(task.updated_at),
        "requester": {"reference": f"Organization/{transition.origin_unit_id}"},
        "owner": organization(owner),
        "restriction": {"period": {"end": _instant(task.due_at)}},
        **_optional(task, clinical),
    }


def searchset(base_url: str, self_url: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{base_url}/Task/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }
