// The data scientist's page: serving model versions with their aliases, the promotion gate's verdicts
// of recent training runs with their reasons, and the latest `iprisk monitor` run (windows, breaches,
// back-test, plots). One call: GET /v1/monitoring (role data_scientist).
"use strict";

const VERDICT_CLASS = {stable: "pass", watch: "warn", act: "fail"};
const num = (v, d = 3) => v == null || !isFinite(v) ? "—" : Number(v).toFixed(d);

function modelsHtml(models) {
  return models.map((m) => {
    const aliases = Object.entries(m.aliases || {}).map(([a, v]) => `${esc(a)} → v${esc(v)}`).join(", ") || "no aliases";
    const rows = (m.versions || []).map((v) => {
      const link = v.run_url ? `<a href="${esc(v.run_url)}">MLflow run</a>` : `<code title="MLflow run id">${esc(v.run_id || "")}</code>`;
      const report = v.report_uri ? (v.report_uri.startsWith("http") ? `<a href="${esc(v.report_uri)}">validation report</a>` :
        `<code title="validation report">${esc(v.report_uri)}</code>`) : "—";
      return `<tr data-version="${esc(v.version)}"><td>v${esc(v.version)}${v.version === m.serving_version ? " <strong>(serving)</strong>" : ""}</td>` +
        `<td>${esc((v.aliases || []).join(", ") || "—")}</td>` +
        `<td class="${v.gate_decision === "promoted" ? "pass" : v.gate_decision ? "fail" : ""}">${esc(v.gate_decision || "—")}</td>` +
        `<td class="reason">${esc(v.gate_reason || "")}</td><td>${esc(v.gate_metric || "")} ${num(parseFloat(v.challenger_metric))}` +
        `${v.champion_metric ? " vs " + num(parseFloat(v.champion_metric)) : ""}</td><td>${link}<br>${report}</td></tr>`;
    }).join("");
    return `<h3>${esc(m.name)} <span class="meta">(${esc(m.kind)}; serving v${esc(m.serving_version || "—")}; ${aliases})</span></h3>` +
      `<div class="table-wrap"><table class="grid gate" data-model="${esc(m.name)}"><thead><tr><th>version</th><th>aliases</th>` +
      `<th>gate</th><th>reason</th><th>metric</th><th>run</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  }).join("");
}

function monitoringHtml(mon) {
  if (!mon) {
    $("monitoring-summary").textContent = "No monitoring run yet: run `iprisk monitor` (it reads the audit log of this service).";
    return;
  }
  $("monitoring-summary").innerHTML = `Verdict <strong id="verdict" class="${VERDICT_CLASS[mon.verdict] || ""}">${esc(mon.verdict)}</strong> ` +
    `for ${esc(mon.model)} v${esc(mon.model_version)}: ${Number(mon.decisions).toLocaleString("en-US")} decisions in ` +
    `${mon.windows.length} ${esc(mon.window)} window(s). MLflow run <code>${esc(mon.mlflow_run_id)}</code>; report <code>${esc(mon.report)}</code>.`;
  const head = "<thead><tr><th>window</th><th>decisions</th><th>approve</th><th>refer</th><th>decline</th><th>mean PD</th>" +
    "<th>PSI of the score</th><th>top drifting features (CSI)</th><th>verdict</th><th>breaches</th></tr></thead>";
  $("windows-table").innerHTML = head + "<tbody>" + mon.windows.map((w) =>
    `<tr data-window="${esc(w.window)}"><td>${esc(w.window)}</td><td>${w.decisions}</td><td>${pct(w.shares.approve || 0, 0)}</td>` +
    `<td>${pct(w.shares.refer || 0, 0)}</td><td>${pct(w.shares.decline || 0, 0)}</td><td>${pct(w.mean_pd)}</td><td>${num(w.psi_score)}</td>` +
    `<td>${w.top_features.map((f) => `${esc(f.feature)} (${num(f.csi, 2)})`).join(", ")}</td>` +
    `<td class="${VERDICT_CLASS[w.verdict] || ""}">${esc(w.verdict)}</td>` +
    `<td class="reason">${w.breaches.slice(0, 6).map((b) => esc(b.message)).join("<br>") || esc(w.note || "none")}` +
    `${w.breaches.length > 6 ? `<br>… and ${w.breaches.length - 6} more (see the report)` : ""}</td></tr>`).join("") + "</tbody>";
  const bt = mon.backtest && mon.backtest.overall;
  $("backtest").innerHTML = bt && bt.loans ? `<h3>Back-test</h3><p id="backtest-line">${bt.loans} loans past their horizon, ${bt.defaults} defaults: ` +
    `AUC ${num(bt.auc)}, mean PD ${pct(bt.mean_pd)} against a default rate of ${pct(bt.default_rate)} ` +
    `(95% interval ${pct(bt.default_rate_lo95)}–${pct(bt.default_rate_hi95)}); Jeffreys failures: ${esc((bt.jeffreys_failures || []).join(", ") || "none")}.</p>` : "";
  $("plots").innerHTML = Object.entries(mon.plots || {}).map(([cap, b64]) =>
    `<figure><img alt="${esc(cap)}" src="data:image/png;base64,${b64}"><figcaption>${esc(cap)}</figcaption></figure>`).join("");
}

async function load() {
  if (!apiKey()) { $("ds-status").textContent = "Enter your data scientist API key to start."; return; }
  $("ds-status").textContent = "Loading…";
  try {
    const d = await api("/v1/monitoring");
    showMessage($("ds-error"), "");
    $("models").innerHTML = modelsHtml(d.models);
    monitoringHtml(d.monitoring);
    $("ds-status").textContent = "";
    document.body.dataset.ready = "1";
  } catch (e) { showMessage($("ds-error"), e.message); $("ds-status").textContent = ""; }
}
$("api-key").addEventListener("change", load);
load();
