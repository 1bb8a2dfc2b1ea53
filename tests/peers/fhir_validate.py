"""Validates FHIR JSON with an independent library, fhir.resources.

Reads one Bundle from standard input and parses it, with every resource in
it, as FHIR R4B (fhir.resources has no R4 package; Observation and AuditEvent
are unchanged between R4 and R4B). Prints "ok <n>" with the number of
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
kinds = sorted({type(e.resource).__name__ for e in entries})
print("ok", len(entries), ",".join(kinds))
