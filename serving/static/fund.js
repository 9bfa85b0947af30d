// The fund manager's page: a pool (CSV, or the loans this service has scored), the investor classes of
// pipelines/tranche_targets.yaml with their targets, stress scenarios side by side, engines compared,
// and a loss-distribution chart drawn here as SVG whose labels are laid out so that they never overlap.
"use strict";

let SETTINGS = null, RESULT = null, REQUEST = null;
const SVGNS = "http://www.w3.org/2000/svg";
const ENGINE_NAMES = {lhp: "large homogeneous pool (Vasicek, closed form)", exact: "exact finite pool", mc: "Monte Carlo (Gaussian copula)"};
const COLORS = ["#1f4e79", "#b03a2e", "#7d3c98", "#b9770e", "#117864", "#5d6d7e", "#922b21"];
const TRANCHE_COLORS = ["#0e6655", "#9a5b00", "#a12a1d", "#6c3483", "#1a5276"];
const FONT = {"font-family": "DejaVu Sans, system-ui, sans-serif", "font-size": "11", fill: "#1d2733"};

// -- settings from the service -----------------------------------------------------------------
let settingsKey = null, settingsLoading = null;
function loadSettings() {   // once per key, even when several events ask for it at once
  if (!apiKey()) { $("size-status").textContent = "Enter your fund manager API key to start."; return Promise.resolve(); }
  if (settingsKey === apiKey() && (SETTINGS || settingsLoading)) return settingsLoading || Promise.resolve();
  settingsKey = apiKey();
  settingsLoading = fetchSettings().finally(() => { settingsLoading = null; });
  return settingsLoading;
}
async function fetchSettings() {
  try {
    SETTINGS = await api("/v1/trust/settings");
  } catch (e) { SETTINGS = null; settingsKey = null; showMessage($("fund-error"), e.message); return; }
  showMessage($("fund-error"), "");
  $("size-status").textContent = "";
  const cols = SETTINGS.pool_columns;
  $("pool-hint").innerHTML = "One row per loan with the pool contract's columns: " + cols.map((c) =>
    `<code>${esc(c.name)}</code> (${esc(c.label.toLowerCase())}${c.unit ? ", " + esc(c.unit === "fraction" ? "fraction 0–1" : c.unit) : ""}${c.required ? "" : ", optional"})`).join(", ") +
    `. At most ${SETTINGS.max_pool.toLocaleString("en-US")} loans.`;
  if (!$("pool-text").value) $("pool-text").placeholder = cols.map((c) => c.name).join(",");
  $("method").innerHTML = SETTINGS.methods.map((m) => `<option value="${m}"${m === SETTINGS.method ? " selected" : ""}>${esc(ENGINE_NAMES[m] || m)}</option>`).join("");
  $("correlation").value = SETTINGS.correlation;
  $("paths").value = SETTINGS.paths; $("paths").max = SETTINGS.max_paths;
  $("compare-methods").innerHTML = SETTINGS.methods.map((m) =>
    `<label><input type="checkbox" name="compare" value="${m}"> ${esc(ENGINE_NAMES[m] || m)}</label>`).join("");
  $("class-targets").innerHTML = SETTINGS.classes.map((c) => {
    const what = c.basis === "probability_of_loss" ? "chance of any loss at most" : c.basis === "expected_loss" ? "expected loss at most" : "";
    return `<div class="field"><label for="target-${esc(c.name)}"><strong>${esc(plain(c.name))}</strong> — ${esc(c.investor || "")}` +
      (what ? `: ${esc(what)} (%)` : ": takes what is left (no target)") + `</label>` +
      (what ? `<input id="target-${esc(c.name)}" data-class="${esc(c.name)}" type="number" step="any" min="0" max="100" value="${+(100 * c.target).toPrecision(12)}">` : "") + `</div>`;
  }).join("");
  $("scenario-list").innerHTML = SETTINGS.stress_scenarios.map((s) => `<li><strong>${esc(plain(s.name))}</strong>: ${esc(scenarioWords(s))}</li>`).join("");
}

function scenarioWords(s) {
  const p = [];
  if (s.factor_shift) p.push(`economy factor shifted by ${s.factor_shift > 0 ? "+" : ""}${s.factor_shift} standard deviations`);
  if (s.pd_multiplier != null && s.pd_multiplier !== 1) p.push(`PD × ${s.pd_multiplier}`);
  if (s.lgd_add_on) p.push(`LGD ${s.lgd_add_on > 0 ? "+" : ""}${Math.round(100 * s.lgd_add_on)} points`);
  if (s.sector) p.push(`${s.sector === "largest" ? "the pool's largest sector" : plain(s.sector)}: PD × ${s.sector_pd_multiplier || 1}` +
    (s.sector_lgd_add_on ? `, LGD +${Math.round(100 * s.sector_lgd_add_on)} points` : ""));
  return p.join("; ") || "no change";
}

// -- the pool ------------------------------------------------------------------------------------
function parsePool(text) {
  const rows = parseDelimited(text, ",");
  if (rows.length < 2) throw new Error("the pool needs a header row and at least one loan");
  const cols = new Map(SETTINGS.pool_columns.map((c) => [c.name, c]));
  const head = rows[0];
  const unknown = head.filter((h) => !cols.has(h));
  if (unknown.length) throw new Error(`unknown column(s) ${unknown.join(", ")}; the pool contract has ${[...cols.keys()].join(", ")}`);
  const missing = [...cols.values()].filter((c) => c.required && !head.includes(c.name)).map((c) => c.name);
  if (missing.length) throw new Error(`missing column(s) ${missing.join(", ")}`);
  return rows.slice(1).map((r) => {
    const o = {};
    head.forEach((h, i) => { const c = cols.get(h), v = r[i] === undefined ? "" : r[i];
      o[h] = v === "" ? null : (c.type === "number" || c.type === "integer") ? Number(v) : v; });
    return o;
  });
}
function poolInfo() {
  try { const p = parsePool($("pool-text").value); const ead = p.reduce((s, r) => s + (r.exposure_at_default || 0), 0);
    $("pool-info").textContent = `${p.length} loans, ${money(ead, SETTINGS.currency)} in all.`; } catch (e) { $("pool-info").textContent = ""; }
}
$("pool-file").addEventListener("change", async (ev) => {
  const f = ev.target.files[0]; if (!f) return;
  $("pool-text").value = await f.text(); ev.target.value = "";
  if (SETTINGS) poolInfo();
  $("pool-info").textContent = `${f.name}: ` + $("pool-info").textContent;
});
let poolTimer = null;  // on input, not on change: a change fires on blur and would move the page under the pointer
$("pool-text").addEventListener("input", () => { clearTimeout(poolTimer); poolTimer = setTimeout(() => SETTINGS && poolInfo(), 250); });
$("pool-from-decisions").addEventListener("click", async () => {
  showMessage($("fund-error"), "");
  try {
    if (!SETTINGS) await loadSettings();
    const r = await api("/v1/trust/pool-from-decisions?limit=" + (SETTINGS ? SETTINGS.max_pool : 500));
    const cols = SETTINGS.pool_columns.map((c) => c.name);
    $("pool-text").value = toCSV([cols, ...r.pool.map((p) => cols.map((c) => p[c]))]);
    poolInfo();
    const versions = r.model_versions.map((v) => Object.entries(v).map(([k, x]) => `${k} v${x}`).join(", ")).join(" | ");
    $("pool-info").textContent = `${r.pool.length} loans from ${r.decisions_read} audited decisions (${r.source}); scored by ${versions || "—"}.`;
  } catch (e) { showMessage($("fund-error"), e.message); }
});

// -- sizing -----------------------------------------------------------------------------------------
$("tranche-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showMessage($("fund-error"), "");
  if (!SETTINGS) await loadSettings();
  if (!SETTINGS) return;
  let pool;
  try { pool = parsePool($("pool-text").value); } catch (e) { showMessage($("fund-error"), `Pool: ${e.message}`); return; }
  const method = $("method").value;
  const compare = [...document.querySelectorAll("input[name=compare]:checked")].map((x) => x.value).filter((m) => m !== method);
  const body = {pool, method, correlation: Number($("correlation").value), stress: $("stress").checked};
  if (compare.length) body.compare_methods = compare;
  if (method === "mc" || compare.includes("mc")) body.paths = Number($("paths").value);
  if (document.querySelector("input[name=mode]:checked").value === "points") {
    body.attachment_points = $("points").value.split(/[,;\s]+/).filter(Boolean).map(Number);
  } else {
    body.targets = {};
    document.querySelectorAll("#class-targets input[data-class]").forEach((el) => { body.targets[el.dataset.class] = Number(el.value) / 100; });
  }
  const btn = $("size"); btn.disabled = true; $("size-status").textContent = "Computing the loss distribution…";
  try {
    const res = await api("/v1/trust/tranches", {method: "POST", body});
    RESULT = res.result; REQUEST = {...body, request_id: res.request_id};
    render();
    $("size-status").textContent = `Done: request ${res.request_id}.`;
  } catch (e) {
    $("size-status").textContent = "";
    const lines = (e.errors || []).slice(0, 8).map((x) => `• ${x.path}: ${x.message || x.rule}${x.value != null ? ` (got ${JSON.stringify(x.value)})` : ""}`);
    showMessage($("fund-error"), e.message + (lines.length ? "\n" + lines.join("\n") : ""));
  } finally { btn.disabled = false; }
});

const metText = (t) => t.meets_target == null ? "—" : t.meets_target ? "met" : "not met";
function targetText(t) {
  if (t.target == null) return "no target (takes what is left)";
  return `${t.target_basis === "probability_of_loss" ? "P(loss)" : "EL"} ≤ ${pct(t.target, t.target < 0.01 ? 2 : 1)}`;
}

function render() {
  const r = RESULT, cur = r.currency || "";
  $("result-empty").hidden = true;
  $("class-cards").innerHTML = r.tranches.map((t) => `<div class="class-card"><h3>${esc(plain(t.name))}</h3>` +
    `<div class="investor">${esc(t.investor || "attachment points as given")}</div>` +
    `<div>${pct(t.attachment)} – ${pct(t.detachment)} of the notes (${money(t.notional, cur)})</div>` +
    `<div>Expected loss ${pct(t.expected_loss, 3)} · P(loss) ${pct(t.probability_of_loss, 3)}</div>` +
    (t.target_basis === undefined ? "" : t.target == null ? `<div>No target: takes what is left</div>`
      : `<div>Target: ${esc(targetText(t))} — <span class="status ${t.meets_target === false ? "missed" : "met"}">${esc(metText(t))}</span></div>`) +
    `</div>`).join("");
  const se = (t, k) => t[k + "_se"] != null ? ` ± ${pct(3 * t[k + "_se"], 3)}` : "";
  $("tranche-table").innerHTML = `<thead><tr><th scope="col">Tranche</th><th scope="col" class="text">Investor class</th><th scope="col">Attaches</th><th scope="col">Detaches</th>` +
    `<th scope="col">Notional</th><th scope="col">Expected loss</th><th scope="col">EL amount</th><th scope="col">P(loss)</th>` +
    `<th scope="col" class="text">Target</th><th scope="col">Met</th><th scope="col">Coupon</th><th scope="col">Expected return</th></tr></thead><tbody>` +
    r.tranches.map((t) => `<tr class="${t.meets_target === true ? "met" : t.meets_target === false ? "missed" : ""}"><td>${esc(plain(t.name))}</td>` +
      `<td class="text" style="white-space:normal;min-width:11rem">${esc(t.investor || "—")}</td><td>${pct(t.attachment)}</td><td>${pct(t.detachment)}</td><td>${money(t.notional, cur)}</td>` +
      `<td>${pct(t.expected_loss, 3)}${se(t, "expected_loss")}</td><td>${money(t.expected_loss_amount, cur)}</td><td>${pct(t.probability_of_loss, 3)}${se(t, "probability_of_loss")}</td>` +
      `<td class="text">${esc(t.target_basis !== undefined ? targetText(t) : "—")}</td><td class="target">${esc(metText(t))}</td>` +
      `<td>${t.coupon == null ? "—" : pct(t.coupon, 1)}</td><td>${t.expected_return == null ? "—" : pct(t.expected_return, 2)}</td></tr>`).join("") + "</tbody>";
  const q = r.pool.loss_quantiles || {};
  $("fund-meta").textContent = `${r.pool.loans} loans, ${money(r.pool.notional, cur)} · pool expected loss ${pct(r.expected_loss, 3)} · ` +
    `99.9% loss ${pct(q["0.999"])} · engine ${ENGINE_NAMES[r.method] || r.method} · request ${REQUEST.request_id}` + (r.method === "mc" ? " · ± is 3 standard errors" : "");
  renderStress(); renderEngines();
  $("tranche-result").hidden = false;
  drawChart();
}

function renderStress() {
  const sc = RESULT.scenarios || [];
  $("stress-section").hidden = !sc.length;
  if (!sc.length) return;
  const names = RESULT.tranches.map((t) => t.name);
  const rows = [{name: "base case", words: "as scored", pool: RESULT.pool, tranches: RESULT.tranches}].concat(
    sc.map((s) => ({name: plain(s.scenario.name), words: scenarioWords(s.scenario), pool: s, tranches: s.tranches})));
  $("stress-table").innerHTML = `<thead><tr><th scope="col">Scenario</th><th scope="col" class="text">What changes</th><th scope="col">Pool EL</th><th scope="col">99.9% loss</th>` +
    names.map((n) => `<th scope="col">${esc(plain(n))} EL</th><th scope="col">${esc(plain(n))} P(loss)</th><th scope="col">${esc(plain(n))} target</th>`).join("") + "</tr></thead><tbody>" +
    rows.map((row) => `<tr><td>${esc(row.name)}</td><td class="text" style="white-space:normal;min-width:13rem">${esc(row.words)}</td><td>${pct(row.pool.expected_loss, 3)}</td>` +
      `<td>${pct((row.pool.loss_quantiles || {})["0.999"])}</td>` +
      names.map((n) => { const t = row.tranches.find((x) => x.name === n) || {};
        return `<td>${pct(t.expected_loss, 3)}</td><td>${pct(t.probability_of_loss, 3)}</td><td class="target">${esc(metText(t))}</td>`; }).join("") + "</tr>").join("") + "</tbody>";
}

function agreement(a, b, k) {
  const x = a[k], y = b[k]; if (x == null || y == null) return "—";
  const s1 = a[k + "_se"], s2 = b[k + "_se"];
  if (s1 != null || s2 != null) {
    const s = Math.sqrt((s1 || 0) ** 2 + (s2 || 0) ** 2);
    if (s === 0) return x === y ? "same" : "differs";
    const z = Math.abs(x - y) / s;
    return z <= 3 ? `agrees (${z.toFixed(1)} s.e.)` : `differs (${z.toFixed(1)} s.e.)`;
  }
  const rel = Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-12);
  return rel <= 0.1 ? `agrees (${(100 * rel).toFixed(0)}% apart)` : `differs (${(100 * rel).toFixed(0)}% apart)`;
}
function renderEngines() {
  const eng = RESULT.engines || [];
  $("engines-section").hidden = eng.length < 2;
  if (eng.length < 2) return;
  const main = eng[0], others = eng.slice(1);
  const se = (t, k) => t[k + "_se"] != null ? ` ± ${pct(3 * t[k + "_se"], 3)}` : "";
  $("engines-table").innerHTML = `<thead><tr><th scope="col">Tranche</th>` + eng.map((e) => `<th scope="col">${esc(e.method)} EL</th><th scope="col">${esc(e.method)} P(loss)</th>`).join("") +
    others.map((e) => `<th scope="col" class="text">${esc(e.method)} vs ${esc(main.method)}</th>`).join("") + `</tr></thead><tbody>` +
    `<tr><td>pool</td>` + eng.map((e) => `<td>${pct(e.expected_loss, 3)}${e.expected_loss_se != null ? ` ± ${pct(3 * e.expected_loss_se, 3)}` : ""}</td><td>—</td>`).join("") +
    others.map((e) => `<td class="text">${esc(agreement(main, e, "expected_loss"))}</td>`).join("") + `</tr>` +
    main.tranches.map((t, i) => `<tr><td>${esc(plain(t.name))}</td>` +
      eng.map((e) => { const x = e.tranches[i]; return `<td>${pct(x.expected_loss, 3)}${se(x, "expected_loss")}</td><td>${pct(x.probability_of_loss, 3)}${se(x, "probability_of_loss")}</td>`; }).join("") +
      others.map((e) => `<td class="text">EL ${esc(agreement(t, e.tranches[i], "expected_loss"))}; P(loss) ${esc(agreement(t, e.tranches[i], "probability_of_loss"))}</td>`).join("") + `</tr>`).join("") + "</tbody>";
  $("engines-note").textContent = "The same tranches priced by each engine. Monte Carlo figures carry ± 3 standard errors and agree when the gap is within 3 of them; " +
    "between the closed-form engines, within 10% counts as agreeing. The large-pool engine ignores how few and how uneven the loans are, so for small pools it usually understates the senior tail.";
}

// -- the chart ---------------------------------------------------------------------------------------
function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function niceStep(span, n) {
  const raw = span / Math.max(1, n), p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
const fmtPctAxis = (v, step) => `${(100 * v).toFixed(Math.max(0, -Math.floor(Math.log10(step * 100 + 1e-15))))}%`;

// Greedy interval layout: each label goes in the first row where it overlaps nothing already placed
// (horizontal extents measured with getComputedTextLength, with a gap).
function layoutRows(items, gap = 8) {
  const rows = [];
  for (const it of items) {
    let r = 0;
    while ((rows[r] || []).some((p) => !(it.x1 + gap <= p.x0 || it.x0 >= p.x1 + gap))) r++;
    (rows[r] = rows[r] || []).push(it); it.row = r;
  }
  return rows.length;
}

function drawChart() {
  const r = RESULT, svg = $("loss-chart");
  [...svg.childNodes].forEach((n) => { if (n.nodeName !== "title") n.remove(); });
  const mode = $("chart-mode").value;
  const curves = r.loss_curves, edges = curves.edges, series = curves.series;
  const W = Math.max(300, Math.round(svg.parentElement.getBoundingClientRect().width || 600));
  const L = 60, R = 14, lineH = 14;
  const xmax = edges[edges.length - 1];
  // measure a text's width once in the live SVG
  const probe = svgEl("text", {...FONT, x: 0, y: -100}); svg.appendChild(probe);
  const width = (s) => { probe.textContent = s; return probe.getComputedTextLength(); };
  const sx = (x) => L + (W - L - R) * x / xmax;

  // labels marking where each tranche attaches (with its expected loss) and the pool's expected loss
  const marks = [];
  const byName = Object.fromEntries(r.tranches.map((t, i) => [t.name, {...t, i}]));
  const offChart = [];
  for (const a of (r.loss_curve.attachments || [])) {
    const t = byName[a.name]; if (!t) continue;
    const text = `${plain(a.name)} from ${fmtPctAxis(a.pool_loss, a.pool_loss < 0.1 ? 0.001 : 0.01)} · EL ${pct(t.expected_loss, t.expected_loss < 0.001 ? 3 : 2)}`;
    if (a.pool_loss > xmax) { offChart.push(text); continue; }
    marks.push({x: a.pool_loss, text, color: TRANCHE_COLORS[t.i % TRANCHE_COLORS.length], dash: "5 3"});
  }
  marks.push({x: r.expected_loss, text: `pool EL ${pct(r.expected_loss, 2)}`, color: "#333", dash: "2 3"});
  marks.sort((a, b) => a.x - b.x);
  for (const m of marks) {
    const w = width(m.text), px = sx(m.x);
    m.anchor = px + 4 + w <= W - 2 ? "start" : "end";
    m.x0 = m.anchor === "start" ? px + 4 : px - 4 - w; m.x1 = m.x0 + w;
    if (m.x0 < 2) { m.anchor = "start"; m.x0 = 2; m.x1 = 2 + w; }
  }
  const markRows = layoutRows(marks);
  const T = 8 + markRows * lineH + 8;

  // legend entries below the axis title, wrapped to the width
  const legend = series.map((s, i) => ({text: s.name === "base" ? "base case" : plain(s.name), color: COLORS[i % COLORS.length], dash: i ? "6 3" : ""}));
  let lx = L, lrow = 0;
  for (const it of legend) {
    const w = 26 + width(it.text);
    if (lx + w > W - R && lx > L) { lrow++; lx = L; }
    it.x0 = lx; it.x1 = lx + w; it.row = lrow; lx += w + 14;
  }
  const plotH = W < 500 ? 190 : 230;
  const B = 18 + 16 + 6;                       // tick labels and the axis title
  const H = T + plotH + B + (lrow + 1) * lineH + 8;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("width", W); svg.setAttribute("height", H);
  svg.setAttribute("font-family", FONT["font-family"]);
  probe.remove();
  const y0 = T + plotH;
  const centers = edges.slice(0, -1).map((e, i) => (e + edges[i + 1]) / 2);

  // y scale
  let sy, yTicks, yLabel, clipped = null;
  if (mode === "exceedance") {
    const lo = Math.max(1e-5, Math.min(...series.flatMap((s) => s.exceedance.filter((v) => v > 0))));
    const dmin = Math.floor(Math.log10(lo));
    sy = (v) => y0 - plotH * (Math.log10(Math.max(v, Math.pow(10, dmin))) - dmin) / (0 - dmin);
    yTicks = []; for (let d = 0; d >= dmin; d--) yTicks.push(Math.pow(10, d));
    if (yTicks.length > Math.floor(plotH / 22)) yTicks = yTicks.filter((_, i) => i % 2 === 0);
    yLabel = "chance the loss exceeds x";
  } else {
    const rest = Math.max(1e-12, ...series.flatMap((s) => s.probability.slice(1)));
    const ymax = rest * 1.15;
    const first = Math.max(...series.map((s) => s.probability[0]));
    if (first > ymax) clipped = first;
    sy = (v) => y0 - plotH * Math.min(v, ymax) / ymax;
    const step = niceStep(ymax, Math.max(2, Math.floor(plotH / 40)));
    yTicks = []; for (let v = 0; v <= ymax + 1e-15; v += step) yTicks.push(v);
    yLabel = `probability per ${fmtPctAxis(curves.bin_width, curves.bin_width / 10)} of loss`;
  }
  // axes, grid and ticks
  svg.appendChild(svgEl("rect", {x: L, y: T, width: W - L - R, height: plotH, fill: "#fbfcfd", stroke: "#c9d2dc"}));
  const ystep = yTicks.length > 1 ? Math.abs(yTicks[1] - yTicks[0]) : 1;
  for (const v of yTicks) {
    const y = sy(v);
    svg.appendChild(svgEl("line", {x1: L, x2: W - R, y1: y, y2: y, stroke: "#e3e8ee"}));
    const txt = mode === "exceedance" ? `${+(100 * v).toPrecision(3)}%` : fmtPctAxis(v, ystep);
    svg.appendChild(svgEl("text", {...FONT, x: L - 5, y: y + 4, "text-anchor": "end", class: "tick y"}, txt));
  }
  const nx = Math.max(2, Math.floor((W - L - R) / 70));
  const xstep = niceStep(xmax, nx);
  const xLabels = [];
  for (let k = 0; k * xstep <= xmax + 1e-12; k++) {
    const v = k * xstep, x = sx(v);
    svg.appendChild(svgEl("line", {x1: x, x2: x, y1: y0, y2: y0 + 4, stroke: "#555"}));
    // the first label starts at the axis (centred, it would meet the y axis' lowest label)
    const t = svgEl("text", {...FONT, x: k ? x : x + 1, y: y0 + 16, "text-anchor": k ? "middle" : "start", class: "tick x"}, fmtPctAxis(v, xstep));
    svg.appendChild(t);
    const bb = t.getBBox();
    if (bb.x + bb.width > W - 1) t.setAttribute("text-anchor", "end");
    xLabels.push(t);
  }
  // should two tick labels still meet (very narrow charts), keep every other one
  const meets = (a, b) => { const p = a.getBBox(), q = b.getBBox(); return p.x + p.width + 4 > q.x; };
  if (xLabels.some((t, i) => i && meets(xLabels[i - 1], t))) xLabels.forEach((t, i) => { if (i % 2) t.remove(); });
  svg.appendChild(svgEl("text", {...FONT, x: (L + W - R) / 2, y: y0 + 32, "text-anchor": "middle", class: "axis-title"}, "pool loss, % of the pool's notional"));
  const yt = svgEl("text", {...FONT, x: 0, y: 0, "text-anchor": "middle", class: "axis-title", transform: `translate(12 ${T + plotH / 2}) rotate(-90)`}, yLabel);
  svg.appendChild(yt);
  if (yt.getComputedTextLength() > plotH - 4) yt.textContent = mode === "exceedance" ? "P(loss > x)" : "probability";

  // series
  series.forEach((s, i) => {
    const pts = mode === "exceedance" ? edges.map((x, k) => `${sx(x).toFixed(1)},${sy(s.exceedance[k]).toFixed(1)}`)
      : centers.map((x, k) => `${sx(x).toFixed(1)},${sy(s.probability[k]).toFixed(1)}`);
    svg.appendChild(svgEl("polyline", {points: pts.join(" "), fill: "none", stroke: legend[i].color, "stroke-width": i ? 1.4 : 2.2,
      "stroke-dasharray": legend[i].dash, class: i ? "loss-line stress" : "loss-line", "data-series": s.name}));
  });
  // markers and their labels
  for (const m of marks) {
    const x = sx(m.x);
    svg.appendChild(svgEl("line", {x1: x, x2: x, y1: T - 4, y2: y0, stroke: m.color, "stroke-dasharray": m.dash, "stroke-width": 1.2, class: "marker"}));
    const y = 8 + m.row * lineH + 10;
    svg.appendChild(svgEl("text", {...FONT, fill: m.color, x: m.anchor === "start" ? m.x0 : m.x1, y, "text-anchor": m.anchor, class: "mark-label"}, m.text));
    svg.appendChild(svgEl("line", {x1: x, x2: x, y1: y + 2, y2: T - 4, stroke: m.color, "stroke-width": 0.6, opacity: 0.6}));
  }
  // legend
  const ly = y0 + B + 6;
  for (const it of legend) {
    const y = ly + it.row * lineH;
    svg.appendChild(svgEl("line", {x1: it.x0, x2: it.x0 + 20, y1: y - 4, y2: y - 4, stroke: it.color, "stroke-width": 2, "stroke-dasharray": it.dash}));
    svg.appendChild(svgEl("text", {...FONT, x: it.x0 + 24, y, class: "legend"}, it.text));
  }
  const notes = [];
  if (clipped != null) notes.push(`The first bar (no or almost no loss, ${pct(clipped, 1)}) is cut at the top so the rest stays readable.`);
  if (offChart.length) notes.push(`Beyond the chart: ${offChart.join("; ")}.`);
  notes.push("Dashed vertical lines: where each tranche starts to lose (pool loss after enhancements), with the tranche's expected loss; dotted: the pool's expected loss.");
  $("chart-note").textContent = notes.join(" ");
}
$("chart-mode").addEventListener("change", () => RESULT && drawChart());
let resizeTimer = null;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => RESULT && drawChart(), 150); });

// -- downloads ----------------------------------------------------------------------------------------
function svgText() {
  const svg = $("loss-chart").cloneNode(true);
  svg.setAttribute("xmlns", SVGNS);
  svg.setAttribute("style", "background:#fff");
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(svg);
}
$("download-svg").addEventListener("click", () => download("loss-distribution.svg", svgText(), "image/svg+xml"));
$("download-png").addEventListener("click", () => {
  const svg = $("loss-chart"), w = Number(svg.getAttribute("width")), h = Number(svg.getAttribute("height"));
  const img = new Image();
  img.onload = () => {
    const c = document.createElement("canvas"); c.width = 2 * w; c.height = 2 * h;
    const ctx = c.getContext("2d"); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height); ctx.scale(2, 2); ctx.drawImage(img, 0, 0, w, h);
    c.toBlob((b) => download("loss-distribution.png", b, "image/png"), "image/png");
  };
  img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svgText());
});
$("download-csv").addEventListener("click", () => {
  const keys = ["name", "investor", "attachment", "detachment", "size", "notional", "expected_loss", "expected_loss_se", "expected_loss_amount",
    "probability_of_loss", "probability_of_loss_se", "target_basis", "target", "meets_target", "coupon", "expected_return", "break_even_default_rate"];
  const rows = [["scenario", ...keys.map((k) => k === "name" ? "tranche" : k)]];
  const add = (name, ts) => ts.forEach((t) => rows.push([name, ...keys.map((k) => t[k] == null ? "" : t[k])]));
  add("base", RESULT.tranches);
  (RESULT.scenarios || []).forEach((s) => add(s.scenario.name, s.tranches));
  download("tranches.csv", toCSV(rows), "text/csv");
});

if (keyInput) keyInput.addEventListener("change", loadSettings);
loadSettings();
