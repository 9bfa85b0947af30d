// iprisk web page: plain JS, no libraries, no network beyond this service.
"use strict";
const $ = (id) => document.getElementById(id);
const fmtMoney = (v, cur) => v == null ? "—" : `${Number(v).toLocaleString("en-US", {maximumFractionDigits: 0})} ${cur || ""}`.trim();
const pct = (v, d = 2) => v == null ? "—" : `${(100 * v).toFixed(d)}%`;
const num = (v, d = 3) => v == null ? "—" : Number(v).toFixed(d);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const SVG = "http://www.w3.org/2000/svg";

// -- tabs and key ------------------------------------------------------------------------
document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll(".tab").forEach((x) => x.classList.toggle("active", x === b));
  document.querySelectorAll(".page").forEach((p) => p.classList.toggle("active", p.id === b.dataset.tab));
}));
$("api-key").value = sessionStorage.getItem("iprisk-key") || "";
$("api-key").addEventListener("change", () => sessionStorage.setItem("iprisk-key", $("api-key").value.trim()));

async function call(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json", "X-API-Key": $("api-key").value.trim()},
                               body: JSON.stringify(body)});
  let data = null;
  try { data = await r.json(); } catch (e) { data = {error: `HTTP ${r.status}`}; }
  if (!r.ok) {
    const lines = (data.errors || []).map((e) => `• ${e.path}: ${e.rule}${e.value !== null && e.value !== undefined ? ` (got ${JSON.stringify(e.value)})` : ""}`);
    throw new Error(`${r.status}: ${data.error || "error"}${lines.length ? "\n" + lines.join("\n") : ""}`);
  }
  return data;
}
function showError(id, err) { const el = $(id); el.textContent = err ? String(err.message || err) : ""; el.hidden = !err; }

// -- credit officer ------------------------------------------------------------------------
function syncAmount() {
  try { const a = JSON.parse($("application").value); $("amount").value = a.loan && a.loan.amount || ""; } catch (e) { /* editing */ }
}
$("load-example").addEventListener("click", async () => {
  const r = await fetch("/ui/static/example_application.json");
  $("application").value = JSON.stringify(await r.json(), null, 2);
  syncAmount();
});
$("app-file").addEventListener("change", async (ev) => {
  const f = ev.target.files[0]; if (!f) return;
  $("application").value = await f.text(); syncAmount();
});
$("application").addEventListener("input", syncAmount);
$("amount").addEventListener("change", () => {
  try { const a = JSON.parse($("application").value); a.loan.amount = Number($("amount").value); $("application").value = JSON.stringify(a, null, 2); } catch (e) { /* invalid JSON is reported on scoring */ }
});

$("score").addEventListener("click", async () => {
  showError("officer-error", null);
  let app;
  try { app = JSON.parse($("application").value); } catch (e) { showError("officer-error", `The application is not valid JSON: ${e.message}`); return; }
  try {
    const res = await call("/v1/loans/score", app);
    renderDecision(res);
  } catch (e) { $("decision").hidden = true; showError("officer-error", e); }
});

function renderDecision(res) {
  const d = res.decision, cur = d.currency || "CNY";
  const rec = String(d.recommendation || "");
  $("verdict").className = "verdict " + rec;
  $("verdict").textContent = `${rec.replace("_", " ").toUpperCase()} — grade ${d.grade}`;
  const rows = [
    ["Probability of default", pct(d.probability_of_default)], ["Grade", d.grade],
    ["Loss given default", pct(d.loss_given_default, 1)], ["Exposure at default", fmtMoney(d.exposure_at_default, cur)],
    ["Expected loss", fmtMoney(d.expected_loss, cur) + ` (${pct(d.expected_loss_rate)})`],
    ["LTV / cap", `${pct(d.ltv, 1)} / ${pct(d.ltv_cap, 1)}`], ["Largest approvable amount", fmtMoney(d.max_loan_amount, cur)],
    ["Price (annual rate)", d.price ? pct(d.price.annual_rate) : "—"], ["Rule", d.decision_rule || "—"],
  ];
  $("figures").innerHTML = rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("");
  drawReasons(d.reasons || []);
  const coll = d.collateral || [];
  $("collateral").innerHTML = "<tr><th>patent</th><th>legal</th><th>technical</th><th>economic</th><th>value score</th><th>appraised</th><th>exp. liquidation</th></tr>" +
    coll.map((c) => `<tr><td>${esc(c.patent_id)}</td><td>${num(c.legal_score)}</td><td>${num(c.technical_score)}</td><td>${num(c.economic_score)}</td>` +
      `<td>${num(c.value_score)}</td><td>${fmtMoney(c.appraised_value)}</td><td>${fmtMoney(c.expected_liquidation_value)}</td></tr>`).join("");
  const cf = d.counterfactual;
  $("counterfactual").textContent = cf && cf.amount != null
    ? `Counterfactual: approvable at ${fmtMoney(cf.amount, cur)} (PD ${pct(cf.probability_of_default)}, LTV ${pct(cf.ltv, 1)})${cf.reason ? " — " + cf.reason : ""}.`
    : (cf && cf.reason ? `Counterfactual: ${cf.reason}` : "Counterfactual: none");
  $("officer-meta").textContent = `request ${res.request_id} · models ${Object.entries(res.model_versions).map(([k, v]) => `${k} v${v}`).join(", ")}`;
  $("decision").hidden = false;
}

function el(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawReasons(reasons) {
  const svg = $("reasons-chart"); svg.innerHTML = "";
  const W = 520, label = 230, rowH = 24;
  const vals = reasons.map((r) => r.pd_points != null ? r.pd_points : r.log_odds || 0);
  const max = Math.max(1e-9, ...vals.map(Math.abs));
  svg.setAttribute("height", Math.max(30, reasons.length * rowH + 10));
  if (!reasons.length) { svg.appendChild(el("text", {x: 4, y: 18}, "No feature raised the risk.")); return; }
  reasons.forEach((r, i) => {
    const y = 5 + i * rowH, w = (W - label - 70) * Math.abs(vals[i]) / max;
    svg.appendChild(el("text", {x: label - 6, y: y + 15, "text-anchor": "end"}, (r.description || r.feature).slice(0, 38)));
    svg.appendChild(el("rect", {x: label, y: y + 3, width: Math.max(1, w), height: rowH - 8, fill: vals[i] >= 0 ? "#c0392b" : "#27ae60", class: "reason-bar"}));
    svg.appendChild(el("text", {x: label + w + 4, y: y + 15}, `${vals[i] >= 0 ? "+" : ""}${(100 * vals[i]).toFixed(2)} pp`));
  });
}

// -- fund manager --------------------------------------------------------------------------
function parseCSV(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  if (lines.length < 2) throw new Error("the pool CSV needs a header and at least one row");
  const head = lines[0].split(",").map((h) => h.trim());
  const numeric = new Set(["exposure_at_default", "probability_of_default", "loss_given_default", "lgd_volatility"]);
  return lines.slice(1).map((l) => {
    const cells = l.split(","), o = {};
    head.forEach((h, i) => { const v = (cells[i] || "").trim(); o[h] = v === "" ? null : numeric.has(h) ? Number(v) : v; });
    return o;
  });
}
$("pool-file").addEventListener("change", async (ev) => {
  const f = ev.target.files[0]; if (!f) return;
  $("pool-text").value = await f.text();
  $("pool-info").textContent = `${f.name}: ${$("pool-text").value.split(/\r?\n/).filter((l) => l.trim()).length - 1} loans`;
});

$("size").addEventListener("click", async () => {
  showError("fund-error", null);
  let pool;
  try { pool = parseCSV($("pool-text").value); } catch (e) { showError("fund-error", e); return; }
  const body = {pool, method: $("method").value, correlation: Number($("correlation").value)};
  if (document.querySelector("input[name=mode]:checked").value === "points") {
    body.attachment_points = $("points").value.split(",").map((x) => Number(x.trim()));
  } else {
    body.targets = {senior: Number($("t-senior").value), mezzanine: Number($("t-mezzanine").value)};
  }
  try { renderTranches(await call("/v1/trust/tranches", body)); } catch (e) { $("tranche-result").hidden = true; showError("fund-error", e); }
});

function renderTranches(res) {
  const r = res.result, cur = r.currency || "";
  $("tranche-table").innerHTML = "<tr><th>tranche</th><th>attach</th><th>detach</th><th>size</th><th>P(loss)</th><th>expected loss</th><th>target</th></tr>" +
    r.tranches.map((t) => `<tr><td>${esc(t.name)}</td><td>${pct(t.attachment)}</td><td>${pct(t.detachment)}</td><td>${fmtMoney(t.notional, cur)}</td>` +
      `<td>${pct(t.probability_of_loss, 3)}</td><td>${pct(t.expected_loss, 3)}</td><td>${t.meets_target == null ? "—" : t.meets_target ? "met" : "missed"}</td></tr>`).join("");
  drawLoss(r.loss_curve);
  $("fund-meta").textContent = `${r.pool.loans} loans · pool EL ${pct(r.expected_loss)} · 99.9% loss ${pct(r.pool.loss_quantiles["0.999"])} · engine ${r.method} · request ${res.request_id}`;
  $("tranche-result").hidden = false;
}

function drawLoss(c) {
  const svg = $("loss-chart"); svg.innerHTML = "";
  const W = 560, H = 260, L = 50, B = 30, T = 10, R = 30;
  const xmax = c.x_max || Math.max(...c.x);
  // a point mass at zero loss would flatten the rest: scale to the largest other value and clip
  const rest = c.y.slice(1), ymax = Math.max(1e-12, rest.length ? Math.max(...rest) * 1.15 : c.y[0]);
  const sx = (x) => L + (W - L - R) * x / xmax, sy = (y) => H - B - (H - B - T) * y / ymax;
  svg.appendChild(el("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#555"}));
  svg.appendChild(el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#555"}));
  for (let i = 0; i <= 4; i++) {
    const x = xmax * i / 4;
    svg.appendChild(el("text", {x: sx(x), y: H - B + 14, "text-anchor": "middle"}, pct(x, 1)));
  }
  svg.appendChild(el("text", {x: (L + W) / 2, y: H - 2, "text-anchor": "middle"}, "pool loss (fraction of notional)"));
  svg.appendChild(el("text", {x: 12, y: T + 8}, c.kind));
  const pts = c.x.map((x, i) => `${sx(x).toFixed(1)},${Math.max(T, sy(c.y[i])).toFixed(1)}`);
  if (c.y[0] > ymax) svg.appendChild(el("text", {x: sx(c.x[0]) + 4, y: T + 24}, `P(no loss) mass ${pct(c.y[0], 1)} (clipped)`));
  svg.appendChild(el("polyline", {points: pts.join(" "), fill: "none", stroke: "#1f4e79", "stroke-width": 1.6, class: "loss-line"}));
  const colors = ["#c0392b", "#e67e22", "#27ae60", "#8e44ad"];
  (c.attachments || []).forEach((a, i) => {
    if (a.pool_loss <= 0 || a.pool_loss > xmax) return;
    svg.appendChild(el("line", {x1: sx(a.pool_loss), y1: T, x2: sx(a.pool_loss), y2: H - B, stroke: colors[i % 4], "stroke-dasharray": "4 3"}));
    svg.appendChild(el("text", {x: sx(a.pool_loss) + 3, y: T + 12 + 12 * i}, `${a.name} attaches`));
  });
}
