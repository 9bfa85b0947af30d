// The credit officer's page: an application form generated from the contracts (GET /v1/contracts/application),
// the decision in words (the service's narrative, the same as the memo's), what-if re-scoring, history,
// memo and replay. Field labels, units, ranges and allowed values all come from the contracts.
"use strict";

let FORM = null;             // the application form as the service describes it
const FIELDS = {firm: {}, loan: {}, patents: {}};   // section key -> field name -> field
let PATENT_FIELDS = [];      // the patent table's columns (fields the service does not fill itself)
let current = null;          // the decision on show: {request_id, decision, narrative, model_versions, recorded_at, application}
let historyOffset = 0;
const HISTORY_PAGE = 10;

// -- fields ----------------------------------------------------------------------------------
const isPct = (f) => f.type === "number" && (f.unit || "").startsWith("fraction");
const round12 = (x) => +Number(x).toPrecision(12);
function unitText(f) {
  if (isPct(f)) return (f.unit || "").includes("per year") ? "% a year" : "%";
  return f.unit && f.unit !== "count" && f.unit !== "ratio" ? f.unit : "";
}
function shown(f, v) {          // a contract value as the form shows it
  if (v == null || v === "") return "";
  if (isPct(f)) return String(round12(v * 100));
  if (f.type === "boolean") return v ? "true" : "false";
  return String(v);
}
function rangeText(f) {
  if (f.min == null && f.max == null) return "";
  const s = (v) => (isPct(f) ? round12(v * 100) : v).toLocaleString("en-US");
  const u = unitText(f);
  if (f.min != null && f.max != null) return `${s(f.min)} to ${s(f.max)}${u ? " " + u : ""}`;
  return f.min != null ? `at least ${s(f.min)}` : `at most ${s(f.max)}`;
}

function control(f, id, path, ariaLabel) {
  let el;
  if (f.allowed || f.type === "boolean") {
    el = document.createElement("select");
    const opts = f.type === "boolean" ? [["true", "yes"], ["false", "no"]] : f.allowed.map((a) => [a, plain(a)]);
    if (!f.required || opts.length > 1) el.appendChild(new Option(f.required ? "— choose —" : "— not given —", ""));
    opts.forEach(([v, t]) => el.appendChild(new Option(t, v)));
  } else {
    el = document.createElement("input");
    if (f.type === "date") el.type = "date";
    else if (f.type === "integer" || f.type === "number") {
      el.type = "number"; el.inputMode = "decimal";
      el.step = f.type === "integer" ? "1" : "any";
      if (f.min != null) el.min = String(isPct(f) ? round12(f.min * 100) : f.min);
      if (f.max != null) el.max = String(isPct(f) ? round12(f.max * 100) : f.max);
    } else {
      el.type = "text"; el.autocomplete = "off"; el.spellcheck = false;
      if (f.pattern) el.pattern = f.pattern.replace(/^\^/, "").replace(/\$$/, "");
    }
  }
  el.id = id; el.name = path; el.dataset.path = path; el.dataset.field = f.name;
  if (f.required) { el.required = true; el.setAttribute("aria-required", "true"); }
  if (ariaLabel) el.setAttribute("aria-label", ariaLabel);
  return el;
}

function fieldBlock(sectionKey, f) {
  const path = `${sectionKey}.${f.name}`, id = `${sectionKey}-${f.name}`;
  const wrap = document.createElement("div"); wrap.className = "field";
  const lab = document.createElement("label"); lab.htmlFor = id;
  const u = unitText(f);
  lab.innerHTML = `${esc(f.label)}${u ? ` <span class="unit">(${esc(u)})</span>` : ""}${f.required ? ' <span class="req" aria-hidden="true">*</span>' : ""}`;
  const el = control(f, id, path);
  wrap.append(lab, el);
  const r = rangeText(f) || (f.nullable ? "may be left empty" : "");
  if (r) {
    const hint = document.createElement("span"); hint.className = "range"; hint.id = `${id}-hint`; hint.textContent = r;
    el.setAttribute("aria-describedby", hint.id); wrap.appendChild(hint);
  }
  return wrap;
}

// -- building the form -------------------------------------------------------------------------
function buildForm(form) {
  FORM = form;
  const root = $("form-sections"); root.innerHTML = "";
  for (const sec of form.sections) {
    const fs = document.createElement("fieldset"); fs.id = `section-${sec.title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
    const lg = document.createElement("legend"); lg.textContent = sec.title; fs.appendChild(lg);
    if (sec.kind === "table") { buildPatentTable(fs, sec); root.appendChild(fs); continue; }
    const grid = document.createElement("div"); grid.className = "fields";
    for (const f of sec.fields) {
      FIELDS[sec.key][f.name] = f;
      if (f.filled_from) continue;  // the service fills it from the firm
      grid.appendChild(fieldBlock(sec.key, f));
    }
    fs.appendChild(grid);
    if (sec.sum_at_most) {
      const p = document.createElement("p"); p.className = "sum meta"; p.id = "shares-sum"; p.setAttribute("aria-live", "polite");
      fs.appendChild(p);
      fs.addEventListener("input", () => updateShares(sec));
      fs.dataset.sums = "1";
    }
    root.appendChild(fs);
  }
  buildWhatIf();
  $("form-status").hidden = true;
}

function updateShares(sec) {
  const rule = sec.sum_at_most[0], p = $("shares-sum");
  const total = rule.columns.reduce((s, c) => s + (Number($(`loan-${c}`).value) || 0), 0) / 100;
  p.textContent = `Together the enhancements cover ${pct(total, 1)} of the loss (at most ${pct(rule.limit, 0)}).`;
  p.classList.toggle("field-error", total > rule.limit + 1e-12);
}

function buildPatentTable(fs, sec) {
  for (const f of sec.fields) FIELDS.patents[f.name] = f;
  PATENT_FIELDS = sec.fields.filter((f) => !f.filled_from);
  const intro = document.createElement("p"); intro.className = "hint";
  intro.innerHTML = `One row per patent (1 to ${sec.max_rows}). Paste rows copied from a spreadsheet into any cell, or use
    “Paste rows” below; columns in this order, or with a header row of the field names.`;
  const wrap = document.createElement("div"); wrap.className = "table-wrap";
  const t = document.createElement("table"); t.className = "edit"; t.id = "patents-table";
  const cap = document.createElement("caption"); cap.className = "visually-hidden"; cap.textContent = "Pledged patents";
  const head = document.createElement("tr");
  head.innerHTML = `<th scope="col">#</th>` + PATENT_FIELDS.map((f) => {
    const u = unitText(f);
    return `<th scope="col" title="${esc(f.name)}">${esc(f.label)}${f.required ? ' <span class="req" aria-hidden="true">*</span>' : ""}` +
      `${u || rangeText(f) ? `<small>${esc([u, rangeText(f)].filter(Boolean).join("; "))}</small>` : ""}</th>`;
  }).join("") + `<th scope="col"><span class="visually-hidden">Remove</span></th>`;
  const thead = document.createElement("thead"); thead.appendChild(head);
  const tbody = document.createElement("tbody"); tbody.id = "patents-body";
  t.append(cap, thead, tbody); wrap.appendChild(t);
  const err = document.createElement("div"); err.className = "field-error"; err.dataset.errorFor = "patents";
  const tools = document.createElement("div"); tools.className = "row";
  tools.innerHTML = `<button type="button" id="add-patent">Add a patent</button>
    <label class="file">Upload patents (CSV) <input id="patents-file" type="file" accept=".csv,.tsv,.txt,text/csv"></label>`;
  const paste = document.createElement("details");
  paste.innerHTML = `<summary>Paste rows from a spreadsheet</summary>
    <label for="patents-paste">Rows copied from a spreadsheet (tab- or comma-separated; a header row of field names is optional)</label>
    <textarea id="patents-paste" rows="4" spellcheck="false"></textarea>
    <div class="row"><button type="button" id="patents-paste-add">Add these rows</button>
    <label><input type="checkbox" id="patents-paste-replace"> replace the current rows</label></div>`;
  fs.append(intro, wrap, err, tools, paste);
  tbody.addEventListener("paste", onCellPaste);
  tools.querySelector("#add-patent").addEventListener("click", () => { const tr = addPatentRow({}); tr.querySelector("input,select").focus(); });
  paste.querySelector("#patents-paste-add").addEventListener("click", () => {
    const rows = rowsToPatents(parseDelimited($("patents-paste").value));
    if ($("patents-paste-replace").checked) $("patents-body").innerHTML = "";
    rows.forEach((r) => addPatentRow(r)); $("patents-paste").value = "";
    $("score-status").textContent = `${rows.length} patent row(s) added.`;
  });
  tools.querySelector("#patents-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0]; if (!f) return;
    const rows = rowsToPatents(parseDelimited(await f.text()));
    $("patents-body").innerHTML = ""; rows.forEach((r) => addPatentRow(r)); ev.target.value = "";
    $("score-status").textContent = `${rows.length} patent(s) read from ${f.name}.`;
  });
}

function renumberPatents() {
  [...$("patents-body").rows].forEach((tr, i) => {
    tr.cells[0].textContent = String(i + 1);
    tr.querySelectorAll("[data-field]").forEach((el) => {
      const f = FIELDS.patents[el.dataset.field];
      el.dataset.path = el.name = `patents[${i}].${f.name}`; el.id = `patents-${i}-${f.name}`;
      el.setAttribute("aria-label", `${f.label}, patent ${i + 1}`);
    });
    const rm = tr.querySelector("button.remove"); rm.setAttribute("aria-label", `Remove patent ${i + 1}`);
  });
}

function addPatentRow(values) {
  const tbody = $("patents-body"), i = tbody.rows.length;
  const tr = document.createElement("tr");
  const num = document.createElement("td"); num.className = "rownum"; tr.appendChild(num);
  for (const f of PATENT_FIELDS) {
    const td = document.createElement("td");
    const el = control(f, `patents-${i}-${f.name}`, `patents[${i}].${f.name}`, `${f.label}, patent ${i + 1}`);
    setControl(el, f, values[f.name]);
    td.appendChild(el); tr.appendChild(td);
  }
  const td = document.createElement("td");
  const rm = document.createElement("button"); rm.type = "button"; rm.className = "small remove"; rm.textContent = "Remove";
  rm.addEventListener("click", () => { tr.remove(); renumberPatents(); });
  td.appendChild(rm); tr.appendChild(td); tbody.appendChild(tr);
  renumberPatents();
  return tr;
}

// Spreadsheet rows -> patent records (header row of field names optional; else the table's column order).
function rowsToPatents(rows) {
  if (!rows.length) return [];
  const names = new Set(Object.keys(FIELDS.patents));
  let cols = PATENT_FIELDS.map((f) => f.name), body = rows;
  if (rows[0].every((c) => names.has(c) || c === "")) { cols = rows[0]; body = rows.slice(1); }
  return body.map((r) => {
    const o = {};
    cols.forEach((c, j) => { const f = FIELDS.patents[c]; if (f && r[j] !== undefined && r[j] !== "") o[c] = fromText(f, r[j]); });
    return o;
  });
}

function onCellPaste(ev) {
  const text = (ev.clipboardData || window.clipboardData).getData("text");
  if (!text || (!text.includes("\t") && !text.includes("\n"))) return;  // one value: the normal paste
  ev.preventDefault();
  const cell = ev.target.closest("td"), tr = ev.target.closest("tr");
  const rows = parseDelimited(text, text.includes("\t") ? "\t" : ",");
  const startRow = [...$("patents-body").rows].indexOf(tr);
  const startCol = PATENT_FIELDS.findIndex((f) => f.name === ev.target.dataset.field);
  rows.forEach((r, k) => {
    let target = $("patents-body").rows[startRow + k];
    if (!target) target = addPatentRow({});
    r.forEach((v, j) => {
      const f = PATENT_FIELDS[startCol + j]; if (!f) return;
      const el = target.querySelector(`[data-field="${f.name}"]`);
      setControl(el, f, v === "" ? null : fromText(f, v));
    });
  });
  $("score-status").textContent = `${rows.length} row(s) pasted.`;
  cell.querySelector("input,select").focus();
}

// A value typed or pasted as text, in the contract's units (percent columns are contract fractions
// only when they come from a file or the clipboard, which hold contract values).
function fromText(f, s) {
  if (s == null || s === "") return null;
  if (f.type === "integer") return Number.isNaN(Number(s)) ? s : Number(s);
  if (f.type === "number") { const n = Number(String(s).replace(/,/g, "")); return Number.isNaN(n) ? s : n; }
  if (f.type === "boolean") return /^(true|yes|1|y)$/i.test(s) ? true : /^(false|no|0|n)$/i.test(s) ? false : s;
  return s;
}

function setControl(el, f, v) { el.value = shown(f, v); }
function readControl(el, f) {
  const s = el.value.trim();
  if (s === "") return undefined;
  if (f.type === "boolean") return s === "true";
  if (f.type === "integer" || f.type === "number") {
    const n = Number(s); if (Number.isNaN(n)) return s;
    return isPct(f) ? n / 100 : n;
  }
  return s;
}

// -- form <-> application -------------------------------------------------------------------------
function fillForm(app) {
  clearErrors();
  for (const key of ["firm", "loan"]) {
    for (const f of Object.values(FIELDS[key])) {
      const el = $(`${key}-${f.name}`); if (el) setControl(el, f, (app[key] || {})[f.name]);
    }
  }
  $("patents-body").innerHTML = "";
  (app.patents || []).forEach((p) => addPatentRow(p));
  if (!(app.patents || []).length) addPatentRow({});
  FORM.sections.filter((s) => s.sum_at_most).forEach(updateShares);
  fillWhatIf(app);
}

function readForm() {
  const app = {firm: {}, patents: [], loan: {}};
  for (const key of ["firm", "loan"]) {
    for (const f of Object.values(FIELDS[key])) {
      const el = $(`${key}-${f.name}`); if (!el) continue;
      const v = readControl(el, f);
      if (v !== undefined) app[key][f.name] = v; else if (f.nullable) app[key][f.name] = null;
    }
  }
  for (const tr of $("patents-body").rows) {
    const p = {};
    tr.querySelectorAll("[data-field]").forEach((el) => {
      const f = FIELDS.patents[el.dataset.field], v = readControl(el, f);
      if (v !== undefined) p[f.name] = v; else if (f.nullable) p[f.name] = null;
    });
    app.patents.push(p);
  }
  return app;
}

// -- errors next to the fields they name -------------------------------------------------------
function fieldOf(path) {
  const m = /^(firm|loan)\.(\w+)$/.exec(path) || /^patents\[\d+\]\.(\w+)$/.exec(path);
  if (!m) return null;
  return m.length === 3 ? FIELDS[m[1]][m[2]] : FIELDS.patents[m[1]];
}
function labelOf(name, table) {
  const f = FIELDS[table === "loans" ? "loan" : table === "firms" ? "firm" : "patents"][name];
  return f ? f.label : plain(name);
}
function friendly(err) {
  const f = fieldOf(err.path);
  const show = (v) => (f && isPct(f) && typeof v === "number") ? `${round12(v * 100)}%` : typeof v === "object" ? JSON.stringify(v) : String(v);
  const got = err.value !== null && err.value !== undefined && typeof err.value !== "object" ? ` (got ${show(err.value)})` : "";
  const cols = (/^(\w+)\.([\w,]+): rule/.exec(err.message || "") || []);
  const names = cols[2] ? cols[2].split(",").map((c) => labelOf(c, cols[1])) : [];
  switch (err.rule) {
    case "not_null": return "Required.";
    case "min": return f && f.min != null ? `Must be at least ${rangeText({...f, max: null}).replace("at least ", "")}${got}.` : err.message;
    case "max": return f && f.max != null ? `Must be at most ${rangeText({...f, min: null}).replace("at most ", "")}${got}.` : err.message;
    case "allowed": return f && f.allowed ? `Must be one of: ${f.allowed.map(plain).join(", ")}${got}.` : err.message;
    case "pattern": return `Does not have the expected form${f && f.pattern ? ` (${f.pattern})` : ""}${got}.`;
    case "type": return `Not a valid ${f ? f.type : "value"}${got}.`;
    case "date_order": return names.length ? `Dates out of order: ${names.join(" ≤ ")}.` : "Dates out of order.";
    case "column_order": return names.length === 2 ? `${names[0]} must not exceed ${names[1]}.` : err.message;
    case "sum_at_most": return names.length ? `Together ${names.join(", ").toLowerCase()} must be at most 100% of the loss.` : err.message;
    case "foreign_key": return "Must be the applicant firm's id.";
    case "unique": return `The same value appears twice${got}.`;
    case "min_items": return "At least one patent is needed.";
    case "max_items": return `At most ${FORM ? FORM.max_patents : ""} patents.`;
    default: return (err.message || err.rule) + got;
  }
}

function where(path) {          // "patents[1].expiry_date" -> "Patent 2, Statutory expiry date"
  const f = fieldOf(path); if (!f) return path;
  const m = /^patents\[(\d+)\]/.exec(path);
  return m ? `Patent ${Number(m[1]) + 1}, ${f.label}` : `${path.startsWith("firm.") ? "The firm" : "The loan"}, ${f.label}`;
}

function clearErrors() {
  document.querySelectorAll("#application-form [aria-invalid]").forEach((el) => { el.removeAttribute("aria-invalid"); el.classList.remove("invalid"); });
  document.querySelectorAll("#application-form .field-error.msg").forEach((el) => el.remove());
  document.querySelectorAll("#application-form [data-error-for]").forEach((el) => { el.textContent = ""; });
  showMessage($("error-summary"), "");
}

function showErrors(errors) {
  clearErrors();
  const items = [];
  for (const e of errors) {
    const el = document.querySelector(`#application-form [data-path="${CSS.escape(e.path)}"]`);
    const msg = friendly(e);
    if (el) {
      el.setAttribute("aria-invalid", "true"); el.classList.add("invalid");
      const m = document.createElement("span"); m.className = "field-error msg"; m.id = `${el.id}-error`; m.textContent = msg;
      el.insertAdjacentElement("afterend", m);
      el.setAttribute("aria-describedby", [el.getAttribute("aria-describedby"), m.id].filter(Boolean).join(" "));
      items.push(`<li><a href="#${esc(el.id)}" data-focus="${esc(el.id)}">${esc(where(e.path))}</a> <code>${esc(e.path)}</code>: ${esc(msg)}</li>`);
    } else {
      const holder = document.querySelector(`#application-form [data-error-for="${CSS.escape(e.path.split(/[.[]/)[0])}"]`);
      if (holder) holder.textContent = msg;
      items.push(`<li>${esc(e.path)}: ${esc(msg)}</li>`);
    }
  }
  const box = $("error-summary");
  box.innerHTML = `<strong>${errors.length} field(s) to fix before the application can be scored:</strong><ul>${items.join("")}</ul>`;
  box.className = "error"; box.hidden = false;
  box.querySelectorAll("a[data-focus]").forEach((a) => a.addEventListener("click", (ev) => { ev.preventDefault(); $(a.dataset.focus).focus(); }));
  box.focus();
}

function clientErrors() {
  const errs = [];
  document.querySelectorAll("#application-form [data-path]").forEach((el) => {
    if (!el.checkValidity()) {
      const v = el.validity, f = fieldOf(el.dataset.path);
      const rule = v.valueMissing ? "not_null" : v.rangeUnderflow ? "min" : v.rangeOverflow ? "max" : v.patternMismatch ? "pattern" : "type";
      errs.push({path: el.dataset.path, rule, value: el.value === "" ? null : (f && isPct(f) ? Number(el.value) / 100 : el.value), message: el.validationMessage});
    }
  });
  if (!$("patents-body").rows.length) errs.push({path: "patents", rule: "min_items", value: null, message: ""});
  return errs;
}

// -- scoring and the decision -----------------------------------------------------------------------
$("application-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showMessage($("officer-error"), "");
  const errs = clientErrors();
  if (errs.length) { showErrors(errs); return; }
  clearErrors();
  const app = readForm();
  const btn = $("score"); btn.disabled = true; $("score-status").textContent = "Scoring…";
  try {
    const res = await api("/v1/loans/score", {method: "POST", body: app});
    current = {...res, application: app, recorded_at: null};
    renderDecision(current);
    $("score-status").textContent = `Scored: request ${res.request_id}.`;
    loadHistory(0);
  } catch (e) {
    $("score-status").textContent = "";
    if (e.status === 422 && e.errors.length) showErrors(e.errors);
    else showMessage($("officer-error"), e.message);
  } finally { btn.disabled = false; }
});

function renderDecision(res) {
  const n = res.narrative, d = res.decision;
  $("decision-empty").hidden = true; $("replay-result").hidden = true;
  const v = $("verdict"); v.className = `verdict ${n.recommendation || ""}`; v.textContent = n.headline;
  const put = (id, text) => { $(id).textContent = text || ""; $(id).hidden = !text; };
  put("limit", n.limit); put("counterfactual", n.counterfactual);
  put("enhancements", n.enhancements ? `Credit enhancements — ${n.enhancements}.` : "");
  $("figures").innerHTML = n.figures.map((f) => `<tr><th scope="row">${esc(f.label)}</th><td>${esc(f.value)}</td></tr>`).join("");
  const top = Math.max(1e-12, ...n.reasons.map((r) => Math.abs(r.pd_points || 0)));
  $("reasons").innerHTML = n.reasons.length ? n.reasons.map((r) => `<li><div>${esc(r.text)}</div>` +
    (r.pd_points != null ? `<div class="bar" aria-hidden="true"><span style="width:${(100 * Math.abs(r.pd_points) / top).toFixed(1)}%"></span></div>` : "") + "</li>").join("")
    : "<li>No feature raised the probability of default.</li>";
  const surv = n.survival_label;
  $("collateral").innerHTML = `<thead><tr><th scope="col">Patent</th><th scope="col" class="text">Right</th><th scope="col" class="text">Expiry</th>` +
    `<th scope="col">Legal</th><th scope="col">Technical</th><th scope="col">Economic</th><th scope="col">Value score</th>` +
    `<th scope="col">Appraised</th><th scope="col">Expected liquidation</th>${surv ? `<th scope="col">${esc(surv)}</th>` : ""}</tr></thead><tbody>` +
    n.collateral.map((c) => `<tr><td>${esc(c.patent_id)}</td><td class="text">${esc(c.right_type)}</td><td class="text">${esc(c.expiry_date)}</td>` +
      `<td>${esc(c.legal)}</td><td>${esc(c.technical)}</td><td>${esc(c.economic)}</td><td>${esc(c.value)}</td>` +
      `<td>${esc(c.appraised_value)}</td><td>${esc(c.expected_liquidation_value)}</td>${surv ? `<td>${esc(c.survival || "—")}</td>` : ""}</tr>`).join("") + "</tbody>";
  const versions = Object.entries(res.model_versions || {}).map(([k, v]) => `${k} v${v}`).join(", ");
  $("officer-meta").textContent = `Request ${res.request_id}${res.recorded_at ? ` · recorded ${res.recorded_at.slice(0, 19).replace("T", " ")} UTC` : ""}` +
    ` · loan ${d.loan_id || "—"} · models ${versions || "—"}`;
  $("decision").hidden = false;
  $("whatif-wrap").hidden = true; $("whatif-apply").hidden = true; showMessage($("whatif-error"), "");
  fillWhatIf(res.application || {});
}

// -- memo and replay ---------------------------------------------------------------------------------
async function openMemo(id) {
  try {
    const html = await api(`/v1/decisions/${encodeURIComponent(id)}/memo`, {text: true});
    const url = URL.createObjectURL(new Blob([html], {type: "text/html"}));
    const w = window.open(url, "_blank");
    if (!w) download(`memo-${id}.html`, html, "text/html");
  } catch (e) { showMessage($("officer-error"), e.message); }
}

async function replay(id, target) {
  target.hidden = false; target.className = "busy"; target.textContent = "Replaying with the recorded model versions…";
  try {
    const r = await api(`/v1/decisions/${encodeURIComponent(id)}/replay`, {method: "POST"});
    const versions = Object.entries(r.model_versions).map(([k, v]) => `${k} v${v}`).join(", ");
    if (r.identical) {
      target.className = "ok";
      target.textContent = `Reproduced: re-scoring ${id} with the recorded model versions (${versions}) gives the identical decision` +
        (r.memo_identical ? ", and the same memo." : ", but the memo differs.");
    } else {
      target.className = "error";
      target.innerHTML = `Not reproduced: ${r.n_differences} difference(s) with ${esc(versions)}:<ul>` +
        r.differences.map((d) => `<li>${esc(d.path)}: recorded ${esc(JSON.stringify(d.recorded))}, replayed ${esc(JSON.stringify(d.replayed))}</li>`).join("") + "</ul>";
    }
  } catch (e) { target.className = "error"; target.textContent = e.message; }
}
$("open-memo").addEventListener("click", () => current && openMemo(current.request_id));
$("replay-current").addEventListener("click", () => current && replay(current.request_id, $("replay-result")));

// -- what-if ------------------------------------------------------------------------------------------
function whatIfFields() {
  const shares = FORM.sections.filter((s) => s.sum_at_most).flatMap((s) => s.fields);
  return [FIELDS.loan.amount, ...shares].filter(Boolean);
}
function buildWhatIf() {
  const grid = $("whatif-fields"); grid.innerHTML = "";
  for (const f of whatIfFields()) {
    const b = fieldBlock("whatif", f);
    b.querySelector("[data-path]").dataset.path = `whatif.${f.name}`;
    grid.appendChild(b);
  }
}
function fillWhatIf(app) {
  if (!FORM) return;
  for (const f of whatIfFields()) { const el = $(`whatif-${f.name}`); if (el) setControl(el, f, (app.loan || {})[f.name]); }
}
$("whatif-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!current) return;
  const base = JSON.parse(JSON.stringify(current.application));
  for (const f of whatIfFields()) {
    const v = readControl($(`whatif-${f.name}`), f);
    if (v !== undefined) base.loan[f.name] = v;
  }
  delete base.loan.loan_id;
  showMessage($("whatif-error"), "");
  $("whatif-score").disabled = true;
  try {
    const res = await api("/v1/loans/score", {method: "POST", body: base});
    renderWhatIf(current, {...res, application: base});
    loadHistory(0);
  } catch (e) {
    const lines = e.errors.map((x) => `${x.path}: ${friendly(x)}`).join("\n");
    showMessage($("whatif-error"), e.message + (lines ? "\n" + lines : ""));
  } finally { $("whatif-score").disabled = false; }
});
function renderWhatIf(a, b) {
  const rows = [["Recommendation", (x) => x.narrative.verdict], ["Deciding rule", (x) => x.narrative.rule_sentence || "—"]];
  const keys = new Map();
  for (const x of [a, b]) for (const f of x.narrative.figures) keys.set(f.key, f.label);
  for (const [k, label] of keys) rows.push([label, (x) => (x.narrative.figures.find((f) => f.key === k) || {}).value || "—"]);
  rows.push(["Credit enhancements", (x) => x.narrative.enhancements || "none"]);
  $("whatif-table").innerHTML = `<thead><tr><th scope="col" class="text"></th><th scope="col" class="text">As scored</th><th scope="col" class="text">What-if</th></tr></thead><tbody>` +
    rows.map(([label, get]) => { const va = get(a), vb = get(b);
      return `<tr><th scope="row" class="text">${esc(label)}</th><td class="text">${esc(va)}</td><td class="text${va !== vb ? " changed" : ""}">${esc(vb)}</td></tr>`; }).join("") + "</tbody>";
  $("whatif-table").querySelectorAll("td").forEach((td) => { td.style.whiteSpace = "normal"; });
  $("whatif-wrap").hidden = false; $("whatif-apply").hidden = false;
  $("whatif-apply").onclick = () => {
    for (const f of whatIfFields()) { const el = $(`loan-${f.name}`); if (el) setControl(el, f, b.application.loan[f.name]); }
    FORM.sections.filter((s) => s.sum_at_most).forEach(updateShares);
    current = b; renderDecision(b);
    $("score-status").textContent = "The what-if values are now in the application.";
  };
}

// -- history ------------------------------------------------------------------------------------------
async function loadHistory(offset) {
  historyOffset = Math.max(0, offset);
  showMessage($("history-error"), "");
  if (!apiKey()) { $("history-info").textContent = "Enter your API key to see your decisions."; return; }
  try {
    const page = await api(`/v1/decisions?scope=${$("history-scope").value}&limit=${HISTORY_PAGE}&offset=${historyOffset}`);
    const rows = page.decisions;
    $("history").innerHTML = `<thead><tr><th scope="col">Time (UTC)</th><th scope="col" class="text">Request</th><th scope="col" class="text">Officer</th>` +
      `<th scope="col" class="text">Firm</th><th scope="col" class="text">Sector</th><th scope="col">Amount</th><th scope="col" class="text">Recommendation</th>` +
      `<th scope="col">PD</th><th scope="col" class="text">Actions</th></tr></thead><tbody>` +
      (rows.length ? rows.map((r) => `<tr data-request-id="${esc(r.request_id)}"><td>${esc(r.recorded_at.slice(0, 19).replace("T", " "))}</td>` +
        `<td class="text" title="${esc(r.request_id)}"><code>${esc(r.request_id.slice(0, 12))}…</code></td><td class="text">${esc(r.caller)}</td>` +
        `<td class="text">${esc(r.firm_id || "—")}</td><td class="text">${esc(plain(r.sector || "—"))}</td><td>${esc(money(r.amount, r.currency || "CNY"))}</td>` +
        `<td class="text"><span class="badge ${esc(r.recommendation || "")}">${esc(plain(r.recommendation || "—"))}</span></td><td>${esc(pct(r.probability_of_default))}</td>` +
        `<td class="text actions"><button type="button" class="small" data-act="open" aria-label="Open decision ${esc(r.request_id)}">Open</button> ` +
        `<button type="button" class="small" data-act="memo" aria-label="Memo of decision ${esc(r.request_id)}">Memo</button> ` +
        `<button type="button" class="small" data-act="replay" aria-label="Replay decision ${esc(r.request_id)}">Replay</button></td></tr>` +
        `<tr class="replay-row" hidden><td colspan="9"><div></div></td></tr>`).join("")
        : `<tr><td colspan="9" class="text">No decisions yet.</td></tr>`) + "</tbody>";
    const last = Math.min(page.offset + rows.length, page.total);
    $("history-info").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "";
    $("history-newer").disabled = page.offset === 0;
    $("history-older").disabled = last >= page.total;
  } catch (e) { showMessage($("history-error"), e.message); }
}
$("history").addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-act]"); if (!b) return;
  const tr = b.closest("tr"), id = tr.dataset.requestId;
  if (b.dataset.act === "memo") return openMemo(id);
  if (b.dataset.act === "replay") { const row = tr.nextElementSibling; row.hidden = false; return replay(id, row.querySelector("div")); }
  try {
    const r = await api(`/v1/decisions/${encodeURIComponent(id)}`);
    const rec = r.record;
    current = {request_id: rec.request_id, recorded_at: rec.recorded_at, decision: rec.outputs, narrative: r.narrative,
               model_versions: rec.model_versions, application: rec.inputs};
    fillForm(rec.inputs);
    renderDecision(current);
    $("score-status").textContent = `Opened decision ${rec.request_id} (recorded ${rec.recorded_at.slice(0, 19).replace("T", " ")} UTC).`;
    $("decision-title").scrollIntoView({block: "start"});
  } catch (e) { showMessage($("history-error"), e.message); }
});
$("history-refresh").addEventListener("click", () => loadHistory(historyOffset));
$("history-scope").addEventListener("change", () => loadHistory(0));
$("history-newer").addEventListener("click", () => loadHistory(historyOffset - HISTORY_PAGE));
$("history-older").addEventListener("click", () => loadHistory(historyOffset + HISTORY_PAGE));
if (keyInput) keyInput.addEventListener("change", () => loadHistory(0));

// -- loading and saving applications ----------------------------------------------------------------
$("load-example").addEventListener("click", async () => {
  const r = await fetch("/ui/static/example_application.json");
  fillForm(await r.json());
  $("score-status").textContent = "Example application loaded.";
});
$("app-file").addEventListener("change", async (ev) => {
  const f = ev.target.files[0]; if (!f) return;
  try {
    const doc = JSON.parse(await f.text());
    const app = doc.applications ? doc.applications[0] : doc;
    if (!app || typeof app !== "object" || !app.firm) throw new Error("expected {firm, patents, loan}");
    fillForm(app);
    $("score-status").textContent = `Application read from ${f.name}.`;
  } catch (e) { showMessage($("officer-error"), `${f.name} is not a JSON application: ${e.message}`); }
  ev.target.value = "";
});
$("download-app").addEventListener("click", () => download("application.json", JSON.stringify(readForm(), null, 2), "application/json"));

(async function init() {
  try {
    const r = await fetch("/v1/contracts/application");
    buildForm(await r.json());
    addPatentRow({});
    document.body.dataset.ready = "1";
  } catch (e) { showMessage($("form-status"), `The form could not be built: ${e.message}`); }
  loadHistory(0);
})();
