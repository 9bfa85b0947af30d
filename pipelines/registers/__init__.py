"""Readers of patent registers as published, into the product's tables.

- `cnipa`: the CNIPA invention-patent table (CSV as published) → ``cnipa_patents`` and its
  legal-status events; bad rows are quarantined with their reasons.
- `uspto`: the USPTO daily assignment file (zip + XML with an embedded DTD, parsed safely) →
  register events (pledges, releases, transfers, licences, name changes); a bad record stops the run.
- `events`: the event vocabulary and the conveyance-text mapping.
- `ingest`: the job behind `iprisk patents ingest` (validate, write Parquet atomically, summarise).
"""
