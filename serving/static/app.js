// iprisk pages, shared code: API key, calls to this service, formatting, downloads.
// Plain JS, no libraries, no network beyond this service. Every page includes this file first.
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const pct = (v, d = 2) => v == null || !isFinite(v) ? "—" : `${(100 * v).toFixed(d)}%`;
const money = (v, cur = "CNY") => v == null || !isFinite(v) ? "—" : `${cur ? cur + " " : ""}${Number(v).toLocaleString("en-US", {maximumFractionDigits: 0})}`;
const plain = (s) => String(s == null ? "" : s).replace(/_/g, " ");

// -- the API key (kept for the browser session, as before) ---------------------------------
const keyInput = $("api-key");
if (keyInput) {
  keyInput.value = sessionStorage.getItem("iprisk-key") || "";
  const save = () => sessionStorage.setItem("iprisk-key", keyInput.value.trim());
  keyInput.addEventListener("change", save);
  keyInput.addEventListener("input", save);
}
function apiKey() { return keyInput ? keyInput.value.trim() : (sessionStorage.getItem("iprisk-key") || ""); }

class ApiError extends Error {
  constructor(status, body) {
    super(`${status}: ${(body && body.error) || "error"}`);
    this.status = status; this.body = body || {}; this.errors = (body && body.errors) || [];
  }
}

// One call to this service with the API key; JSON in and out (text for HTML answers).
async function api(path, {method = "GET", body = undefined, text = false} = {}) {
  const headers = {"X-API-Key": apiKey()};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  if (text && r.ok) return r.text();
  let data = null;
  try { data = await r.json(); } catch (e) { data = {error: `HTTP ${r.status}`}; }
  if (!r.ok) {
    if (r.status === 401) data.error = (data.error || "") + " — enter your API key at the top right";
    if (r.status === 403) data.error = (data.error || "") + " — this key's role may not do this";
    throw new ApiError(r.status, data);
  }
  return data;
}

function showMessage(el, msg, kind = "error") {
  if (!el) return;
  el.className = kind; el.textContent = msg || ""; el.hidden = !msg;
}

function download(name, content, type) {
  const blob = content instanceof Blob ? content : new Blob([content], {type});
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 5000);
}

// RFC-4180-ish CSV/TSV parsing: quoted fields, doubled quotes, CRLF. Returns rows of strings.
function parseDelimited(text, delim) {
  if (delim === undefined) delim = text.includes("\t") ? "\t" : ",";
  const rows = []; let row = [], cell = "", q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"' && cell === "") q = true;
    else if (c === delim) { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); cell = ""; if (row.some((x) => x.trim() !== "")) rows.push(row); row = [];
    } else cell += c;
  }
  row.push(cell); if (row.some((x) => x.trim() !== "")) rows.push(row);
  return rows.map((r) => r.map((x) => x.trim()));
}

function toCSV(rows) {
  const q = (v) => { const s = v == null ? "" : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return rows.map((r) => r.map(q).join(",")).join("\n") + "\n";
}
