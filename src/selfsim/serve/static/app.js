// selfsim's search page: plain JS over the /v1 API (no build step, no dependencies).
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { query: null, searchSeq: 0, matchSeq: 0, match: null, origin: null, urls: [], dedupLoaded: false };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

const baseName = (path) => String(path).split(/[\\/]/).pop();
const num = (v, digits = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const thumb = (id, size = 256) => `/v1/images/${encodeURIComponent(id)}/thumbnail?size=${size}`;

// -- API and errors -------------------------------------------------------------
async function api(path, options = {}) {
  let res;
  try {
    res = await fetch(path, options);
  } catch (e) {
    throw new Error(`cannot reach the server (${e.message})`);
  }
  const json = (res.headers.get("content-type") || "").includes("json");
  const body = json ? await res.json().catch(() => null) : null;
  if (!res.ok) throw new Error((body && body.error) || `${res.status} ${res.statusText}`);
  return body;
}

function showError(err) {
  $("#error-text").textContent = err instanceof Error ? err.message : String(err);
  $("#error").hidden = false;
}
const clearError = () => { $("#error").hidden = true; };
$("#error-close").addEventListener("click", clearError);

// -- header ---------------------------------------------------------------------
async function loadInfo() {
  try {
    const info = await api("/v1/info");
    const count = `${info.images} image${info.images === 1 ? "" : "s"}`;
    $("#info").textContent = `model ${info.model} · ${count} · v${info.version}`;
    $("#tab-add").disabled = !info.writable;
    $("#readonly-note").hidden = info.writable;
  } catch (e) {
    $("#info").textContent = "server unreachable";
    showError(e);
  }
}

// -- tabs -----------------------------------------------------------------------
const tabs = [...document.querySelectorAll('[role="tab"]')];

function selectTab(tab, focus = false) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
  }
  closeMatch(false);
  if (focus) tab.focus();
  if (tab.id === "tab-dedup" && !state.dedupLoaded) loadDedup();
}

for (const t of tabs) t.addEventListener("click", () => selectTab(t));
$(".tabs").addEventListener("keydown", (e) => {
  const usable = tabs.filter((t) => !t.disabled);
  const i = usable.indexOf(document.activeElement);
  if (i < 0) return;
  const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: usable.length - 1 }[e.key];
  if (next === undefined) return;
  e.preventDefault();
  selectTab(usable[(next + usable.length) % usable.length], true);
});

// -- search ---------------------------------------------------------------------
function setQuery(file) {
  if (!file) return;
  state.query = file;
  const preview = $("#query-preview");
  preview.src = objectURL(file);
  preview.alt = `Query picture: ${file.name}`;
  preview.hidden = false;
  $("#query-name").textContent = file.name;
  search();
}

function objectURL(file) {
  const url = URL.createObjectURL(file);
  state.urls.push(url);
  while (state.urls.length > 8) URL.revokeObjectURL(state.urls.shift());
  return url;
}

async function search() {
  if (!state.query) return;
  clearError();
  closeMatch(false);
  const seq = ++state.searchSeq;
  const k = $("#k").value;
  const verify = $("#verify").checked ? 20 : 0;
  const form = new FormData();
  form.append("image", state.query, state.query.name);
  $("#search-status").textContent = "Searching…";
  try {
    const r = await api(`/v1/search?k=${k}&verify=${verify}`, { method: "POST", body: form });
    if (seq !== state.searchSeq) return;
    renderHits(r);
  } catch (e) {
    if (seq !== state.searchSeq) return;
    $("#search-status").textContent = "";
    showError(e);
  }
}

function renderHits(r) {
  const list = $("#hits");
  list.replaceChildren();
  $("#search-status").textContent = r.hits.length
    ? `${r.hits.length} hit${r.hits.length === 1 ? "" : "s"} in ${Math.round(r.took_ms)} ms · choose one to see the match`
    : "No hits: the index is empty.";
  for (const h of r.hits) {
    const name = baseName(h.path);
    const button = el("button", { type: "button", class: "hit", "data-id": h.id, title: h.path },
      el("img", { src: thumb(h.id), alt: name, loading: "lazy" }),
      el("span", { class: "name", text: name }),
      el("span", { class: "scores", text: `score ${num(h.score)} · similarity ${num(h.similarity)}` }),
      h.verified ? el("span", { class: "badge ok", text: "verified" }) : null);
    button.addEventListener("click", () => {
      const form = new FormData();
      form.append("a", state.query, state.query.name);
      openMatch(`/v1/match?b_id=${encodeURIComponent(h.id)}`, form,
        { url: objectURL(state.query), name: `Query: ${state.query.name}` },
        { url: thumb(h.id, 1024), name: `${name} (id ${h.id})` }, button);
    });
    list.append(el("li", {}, button));
  }
}

const drop = $("#drop");
$("#query-input").addEventListener("change", (e) => setQuery(e.target.files[0]));
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  setQuery([...e.dataTransfer.files].find((f) => f.type.startsWith("image/")) || e.dataTransfer.files[0]);
});
$("#k").addEventListener("change", search);
$("#verify").addEventListener("change", search);
$("#search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });

// -- match view -----------------------------------------------------------------
async function openMatch(path, form, a, b, origin) {
  clearError();
  const seq = ++state.matchSeq;
  state.match = null;
  state.origin = origin || null;
  const view = $("#match-view");
  $("#match-verdict").textContent = "Matching…";
  $("#match-verdict").className = "";
  $("#match-details").textContent = "";
  $("#match-reason").textContent = "";
  $("#match-a").src = a.url;
  $("#match-a").alt = a.name;
  $("#match-a-name").textContent = a.name;
  $("#match-b").src = b.url;
  $("#match-b").alt = b.name;
  $("#match-b-name").textContent = b.name;
  view.hidden = false;
  drawMatch();
  $("#match-title").focus({ preventScroll: true });
  view.scrollIntoView({ block: "start", behavior: "smooth" });
  try {
    const m = await api(path, { method: "POST", body: form });
    if (seq !== state.matchSeq) return;
    state.match = m;
    $("#match-verdict").textContent = m.match ? "MATCH" : "NO MATCH";
    $("#match-verdict").className = m.match ? "yes" : "no";
    $("#match-details").textContent =
      `score ${num(m.score)} · ${m.inliers} inliers of ${m.matches} matches · coverage ${num(m.coverage, 2)} · ${Math.round(m.took_ms)} ms`;
    $("#match-reason").textContent = m.reason;
    drawMatch();
  } catch (e) {
    if (seq !== state.matchSeq) return;
    $("#match-verdict").textContent = "Failed";
    $("#match-verdict").className = "no";
    showError(e);
  }
}

function closeMatch(refocus = true) {
  state.matchSeq++;
  state.match = null;
  $("#match-view").hidden = true;
  if (refocus && state.origin && document.contains(state.origin)) state.origin.focus();
  state.origin = null;
}
$("#match-close").addEventListener("click", () => closeMatch());
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("#match-view").hidden) closeMatch(); });

// Where picture pixels (x, y) of an image of `size` land on the canvas (object-fit: contain).
function placer(img, size, origin) {
  const r = img.getBoundingClientRect();
  const nw = img.naturalWidth, nh = img.naturalHeight;
  if (!nw || !nh || !size[0] || !size[1]) return null;
  const s = Math.min(r.width / nw, r.height / nh);
  const w = nw * s, h = nh * s;
  const ox = r.left - origin.left + (r.width - w) / 2, oy = r.top - origin.top + (r.height - h) / 2;
  return ([x, y]) => [ox + (x * w) / size[0], oy + (y * h) / size[1]];
}

function project(H, [x, y]) {
  const w = H[2][0] * x + H[2][1] * y + H[2][2];
  return w > 1e-9 ? [(H[0][0] * x + H[0][1] * y + H[0][2]) / w, (H[1][0] * x + H[1][1] * y + H[1][2]) / w] : null;
}

const corners = (b) => [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]];
const finite = (xs) => Array.isArray(xs) && xs.flat().every((v) => typeof v === "number" && Number.isFinite(v));

function polygon(ctx, pts) {
  if (pts.some((p) => !p)) return;
  ctx.beginPath();
  pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  ctx.closePath();
  ctx.stroke();
}

function drawMatch() {
  const canvas = $("#match-canvas");
  const pair = $("#match-pair").getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(pair.width * dpr);
  canvas.height = Math.round(pair.height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, pair.width, pair.height);
  const m = state.match;
  if (!m) return;
  const pa = placer($("#match-a"), m.size_a, pair), pb = placer($("#match-b"), m.size_b, pair);
  if (!pa || !pb) return;
  const colour = m.match ? "46, 160, 67" : "217, 119, 6";
  ctx.lineWidth = 1;
  ctx.strokeStyle = `rgba(${colour}, 0.55)`;
  ctx.fillStyle = `rgb(${colour})`;
  m.points_a.forEach((p, i) => {
    const [x0, y0] = pa(p), [x1, y1] = pb(m.points_b[i]);
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
    ctx.fillRect(x0 - 1.5, y0 - 1.5, 3, 3);
    ctx.fillRect(x1 - 1.5, y1 - 1.5, 3, 3);
  });
  ctx.lineWidth = 3;
  ctx.strokeStyle = "rgb(37, 99, 235)";
  if (finite(m.box_a)) {
    polygon(ctx, corners(m.box_a).map(pa));
    if (finite(m.homography)) {
      const projected = corners(m.box_a).map((c) => project(m.homography, c));
      polygon(ctx, projected.map((p) => p && pb(p)));
    } else if (finite(m.box_b)) {
      polygon(ctx, corners(m.box_b).map(pb));
    }
  } else if (finite(m.box_b)) {
    polygon(ctx, corners(m.box_b).map(pb));
  }
}

for (const img of [$("#match-a"), $("#match-b")]) img.addEventListener("load", drawMatch);
new ResizeObserver(drawMatch).observe($("#match-pair"));

// -- compare --------------------------------------------------------------------
$("#compare-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const a = $("#compare-a").files[0], b = $("#compare-b").files[0];
  if (!a || !b) return showError("choose two pictures to compare");
  const form = new FormData();
  form.append("a", a, a.name);
  form.append("b", b, b.name);
  openMatch("/v1/match", form, { url: objectURL(a), name: `A: ${a.name}` },
    { url: objectURL(b), name: `B: ${b.name}` }, $("#compare-go"));
});

// -- duplicates -----------------------------------------------------------------
async function loadDedup() {
  clearError();
  state.dedupLoaded = true;
  const similar = $("#dedup-similar").checked;
  $("#dedup-status").textContent = "Looking for duplicates…";
  try {
    const r = await api(`/v1/dedup?similar=${similar}`);
    const groups = $("#groups");
    groups.replaceChildren();
    $("#dedup-status").textContent = r.groups.length
      ? `${r.groups.length} group${r.groups.length === 1 ? "" : "s"} of copies`
      : "No duplicates in the index.";
    for (const g of r.groups) {
      const list = el("ul", { class: "grid small" });
      for (const m of g.members) {
        const keeper = m.id === g.keeper.id;
        const name = baseName(m.path);
        list.append(el("li", { class: keeper ? "member keeper" : "member", "data-id": m.id, title: m.path },
          el("img", { src: thumb(m.id, 192), alt: name, loading: "lazy" }),
          el("span", { class: "name", text: name }),
          keeper ? el("span", { class: "badge ok", text: "keeper" }) : null));
      }
      groups.append(el("section", { class: "group" },
        el("h3", { text: `${g.kind} · ${g.members.length} pictures · score ${num(g.score)}` }), list));
    }
  } catch (e) {
    $("#dedup-status").textContent = "";
    showError(e);
  }
}
$("#dedup-load").addEventListener("click", loadDedup);
$("#dedup-similar").addEventListener("change", loadDedup);

// -- add ------------------------------------------------------------------------
const token = $("#token");
token.value = sessionStorage.getItem("selfsim-token") || "";
token.addEventListener("input", () => sessionStorage.setItem("selfsim-token", token.value.trim()));

$("#add-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  clearError();
  const files = [...$("#add-files").files];
  if (!files.length) return showError("choose one or more pictures to add");
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  $("#add-status").textContent = `Adding ${files.length} picture${files.length === 1 ? "" : "s"}…`;
  try {
    const r = await api("/v1/images", {
      method: "POST", body: form, headers: { Authorization: `Bearer ${token.value.trim()}` },
    });
    $("#add-status").textContent = `Added; the index now holds ${r.images} images.`;
    const list = $("#added");
    list.replaceChildren();
    for (const a of r.added) {
      list.append(el("li", { class: "member", "data-id": a.id, title: a.path },
        el("img", { src: thumb(a.id, 192), alt: a.name }),
        el("span", { class: "name", text: `${a.name} (id ${a.id})` }),
        el("span", { class: a.existed ? "badge" : "badge ok", text: a.existed ? "was there" : "added" })));
    }
    state.dedupLoaded = false;
    loadInfo();
  } catch (err) {
    $("#add-status").textContent = "";
    showError(err);
  }
});

loadInfo();
