"""The one-page decision memo for the credit file, rendered from an audit record.

`render_memo(record, config)` is a pure function of the audited decision (request id, time, caller,
inputs, outputs, model versions) and the decision policy's thresholds, so the same record gives the
same bytes every time: the service's `GET /v1/decisions/{request_id}/memo`, `iprisk audit memo ID`
and an audit replay (which re-renders it from the replayed outputs) all produce it. The wording is
`models.wording`'s, the same the web page shows. Self-contained HTML (no scripts or files from
elsewhere) with print CSS for A4: print it or save it as PDF from the browser.
"""

from __future__ import annotations

from html import escape
from typing import Any

from data_contracts.errors import InputError
from models.decision import DecisionConfig
from models.wording import describe_record, explain_decision, percent
from pipelines.audit_store import AuditRecord

MEMO_ENDPOINTS = ("loans/score",)
"""Audit endpoints a memo can be made of (one application, one decision)."""

_CSS = """
@page { size: A4; margin: 10mm 11mm 11mm; }
* { box-sizing: border-box; }
body { font: 8pt/1.28 "DejaVu Sans", system-ui, sans-serif; color: #111; margin: 0; }
main { max-width: 188mm; margin: 0 auto; }
@media screen { body { background: #eef1f5; } main { background: #fff; padding: 12mm 13mm; margin: 1rem auto;
  box-shadow: 0 1px 4px #0003; } }
@media print { .no-print { display: none !important; } }
h1 { font-size: 13pt; margin: 0 0 .5mm; }
h2 { font-size: 9pt; margin: 2.4mm 0 1mm; border-bottom: 1px solid #999; padding-bottom: .5mm; break-after: avoid; }
.meta { color: #444; font-size: 8pt; }
.decision { border: 1.5px solid #333; border-radius: 2mm; padding: 1.8mm 3mm; margin-top: 2mm; }
.decision.approve { border-color: #1e7b34; } .decision.refer { border-color: #a86400; } .decision.decline { border-color: #a12a1d; }
.headline { font-size: 10.5pt; font-weight: 700; margin: 0 0 .6mm; }
.decision p { margin: .5mm 0; }
table { border-collapse: collapse; width: 100%; }
td, th { padding: .6mm 1.5mm; vertical-align: top; text-align: left; }
table.grid { table-layout: auto; } table.grid th, table.grid td { border-bottom: .5px solid #bbb; font-size: 7.5pt; padding: .5mm 1mm; }
table.grid td.n, table.grid th.n { text-align: right; } table.grid td.id { white-space: nowrap; }
ol.reasons { margin: 0; padding-left: 5mm; } ol.reasons li { margin: .2mm 0; }
dl.facts { display: grid; grid-template-columns: repeat(5, 1fr); gap: .3mm 2.5mm; margin: 0; }
dl.facts.figures { grid-template-columns: repeat(3, 1fr); gap: .5mm 4mm; }
dl.facts.figures dt { font-size: 7.5pt; }
dl.facts div { display: flex; flex-direction: column; break-inside: avoid; }
dl.facts dt { color: #555; font-size: 6.5pt; line-height: 1.15; } dl.facts dd { margin: 0; }
footer { margin-top: 3mm; font-size: 7pt; color: #444; border-top: 1px solid #999; padding-top: 1mm; }
button { font: inherit; padding: .3rem .8rem; margin: 0 0 .6rem; }
"""


def _e(v: Any) -> str:
    return escape("" if v is None else str(v), quote=True)


def _when(recorded_at: str) -> str:
    """'2026-11-30T03:58:12.123456+00:00' → '2026-11-30 03:58:12 UTC'."""
    s = str(recorded_at)
    return f"{s[:10]} {s[11:19]} UTC" if len(s) >= 19 and s[10] == "T" else s


def _facts(rows: list[dict[str, str]], kind: str = "") -> str:
    return f"<dl class='facts {kind}'>" + "".join(
        f"<div><dt>{_e(r['label'])}</dt><dd>{_e(r['value'])}</dd></div>" for r in rows) + "</dl>"


def render_memo(record: AuditRecord, config: DecisionConfig) -> str:
    """The memo of one audited `loans/score` decision as an HTML document (str).

    `config`: the decision policy whose thresholds the rule sentence quotes. Raises InputError for
    a record of another endpoint."""
    if record.endpoint not in MEMO_ENDPOINTS:
        raise InputError(f"audit record {record.request_id}: a memo is made of one scored application "
                         f"({', '.join(MEMO_ENDPOINTS)}), not of {record.endpoint!r}")
    app, d = record.inputs or {}, record.outputs or {}
    n = explain_decision(d, app, config)
    firm, loan = app.get("firm") or {}, app.get("loan") or {}
    rec = _e(n["recommendation"] or "")
    title = f"Credit decision memo — {firm.get('firm_id', '')} — {record.request_id}"

    figures = _facts(n["figures"], "figures")
    reasons = ("<ol class='reasons'>" + "".join(f"<li>{_e(r['text'])}</li>" for r in n["reasons"]) + "</ol>"
               if n["reasons"] else "<p>No feature raised the probability of default.</p>")
    surv = n["survival_label"]
    head = ("<tr><th>Patent</th><th>Right</th><th>Expiry</th><th class='n'>Legal</th><th class='n'>Technical</th>"
            "<th class='n'>Economic</th><th class='n'>Value score</th><th class='n'>Appraised value</th>"
            "<th class='n'>Expected liquidation</th>" + (f"<th class='n'>{_e(surv)}</th>" if surv else "") + "</tr>")
    body = "".join(
        f"<tr><td class='id'>{_e(c['patent_id'])}</td><td>{_e(c['right_type'])}</td><td class='id'>{_e(c['expiry_date'])}</td>"
        f"<td class='n'>{_e(c['legal'])}</td><td class='n'>{_e(c['technical'])}</td><td class='n'>{_e(c['economic'])}</td>"
        f"<td class='n'>{_e(c['value'])}</td><td class='n'>{_e(c['appraised_value'])}</td>"
        f"<td class='n'>{_e(c['expected_liquidation_value'])}</td>" + (f"<td class='n'>{_e(c['survival'] or '—')}</td>" if surv else "")
        + "</tr>" for c in n["collateral"])
    versions = ", ".join(f"{_e(k)} v{_e(v)}" for k, v in sorted(record.model_versions.items())) or "none recorded"
    policy = (f"refer at PD ≥ {percent(config.refer_pd)} or EL rate > {percent(config.refer_el_rate)} or LTV above the cap; "
              f"decline at PD ≥ {percent(config.decline_pd)}, EL rate ≥ {percent(config.decline_el_rate)} or LTV above the cap "
              f"by more than {config.ltv_decline_tolerance:.0%} of it")
    decision_box = (
        f"<section class='decision {rec}'><p class='headline'>{_e(n['headline'])}</p>"
        + (f"<p>{_e(n['limit'])}</p>" if n["limit"] else "")
        + (f"<p>{_e(n['counterfactual'])}</p>" if n["counterfactual"] else "")
        + (f"<p>Credit enhancements — {_e(n['enhancements'])}.</p>" if n["enhancements"] else "")
        + "</section>")
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body><main>"
        "<button class='no-print' type='button' onclick='window.print()'>Print or save as PDF</button>"
        f"<h1>Credit decision memo: {_e(firm.get('firm_id', ''))}</h1>"
        f"<p class='meta'>Request <b>{_e(record.request_id)}</b> · recorded {_e(_when(record.recorded_at))} · "
        f"credit officer {_e(record.caller or '—')} · loan {_e(d.get('loan_id') or loan.get('loan_id'))}</p>"
        f"{decision_box}"
        f"<h2>Figures</h2>{figures}"
        f"<h2>Reasons (what raised the probability of default most)</h2>{reasons}"
        f"<h2>Collateral</h2><table class='grid'>{head}{body}</table>"
        f"<h2>Application: the firm</h2>{_facts(describe_record('firms', firm))}"
        f"<h2>Application: the loan</h2>{_facts(describe_record('loans', loan))}"
        f"<footer>Model versions: {versions}. Policy: {_e(policy)}. "
        f"Generated from the audit record {_e(record.request_id)}; the same record always gives this memo "
        f"(<code>iprisk audit memo {_e(record.request_id)}</code>).</footer>"
        "</main></body></html>\n"
    )
