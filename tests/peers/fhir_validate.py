"""Validates FHIR JSON with an independent library, fhir.resources.

Reads one Bundle from standard input and parses it, with every resource in
it, as FHIR R4B (fhir.resources has no R4 package; Observation, AuditEvent
and OperationOutcome are unchanged between R4 and R4B). Prints "ok <n>" with the number of
entries, or the validation errors and exits 1.
"""

import json
import sys

from fhir.resources.R4B.bundle import Bundle

data = json.load(sys.stdin)
try:
    bundle = Bundle.model_validate(data)
except Exception as e:  # pydantic's ValidationError lists every field
    print(e)
    sys.exit(1)
# fhir.resources checks structure, types, cardinality and formats but not
# required code bindings; check the ones these resources have.
BINDINGS = {
    "Observation": {"status": {"registered", "preliminary", "final", "amended",
                               "corrected", "cancelled", "entered-in-error", "unknown"}},
    "AuditEvent": {"action": {"C", "R", "U", "D", "E"}, "outcome": {"0", "4", "8", "12"}},
}
entries = bundle.entry or []
for i, entry in enumerate(data.get("entry", [])):
    resource = entry["resource"]
    for field, allowed in BINDINGS.get(resource["resourceType"], {}).items():
        if field in resource and resource[field] not in allowed:
            print(f"entry.{i}.resource.{field}: {resource[field]!r} is not in its value set")
            sys.exit(1)
# OperationOutcome.issue: severity and code are required bindings too
# (hl7.org/fhir/R4/valueset-issue-severity.html, valueset-issue-type.html).
SEVERITIES = {"fatal", "error", "warning", "information"}
ISSUE_TYPES = {
    "invalid", "structure", "required", "value", "invariant", "security", "login",
    "unknown", "expired", "forbidden", "suppressed", "processing", "not-supported",
    "duplicate", "multiple-matches", "not-found", "deleted", "too-long",
    "code-invalid", "extension", "too-costly", "business-rule", "conflict",
    "transient", "lock-error", "no-store", "exception", "timeout", "incomplete",
    "throttled", "informational",
}
for i, entry in enumerate(data.get("entry", [])):
    resource = entry["resource"]
    if resource["resourceType"] != "OperationOutcome":
        continue
    for j, issue in enumerate(resource["issue"]):
        if issue["severity"] not in SEVERITIES or issue["code"] not in ISSUE_TYPES:
            print(f"entry.{i}.resource.issue.{j}: {issue!r} is outside its value sets")
            sys.exit(1)
kinds = sorted({type(e.resource).__name__ for e in entries})
print("ok", len(entries), ",".join(kinds))
