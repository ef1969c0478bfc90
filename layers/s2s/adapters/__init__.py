"""Everything that talks to the outside, and the only place that does: `dynamo` (the one DynamoDB
codec and paginated queries) and one repository per aggregate on it (`transfers`, `counters`,
`events`, `organisations`, `subscriptions`, `quotas`, `lrs_audit`), `cursors` (signed list
positions), `files` and `ranged` (the bucket), `ses`, and the LRS's SOAP transport (`lrs`).
Expected failures (a refused condition, a cancelled transaction, a missing object) come out as the
adapters' own exceptions or values; anything else is an outage, raised as it is (a 500, or a retry
from the queue)."""
