// PulseTwin dashboard: plain JS module, talks to /api/v1 only, strings from i18n/{nl,en}.json.
const API = "/api/v1";
const SVG = "http://www.w3.org/2000/svg";
const SCALE = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"];
const state = { lang: localStorage.getItem("pt.lang") || "nl", msgs: {}, token: sessionStorage.getItem("pt.token"),
  user: JSON.parse(sessionStorage.getItem("pt.user") || "null"), run: null, category: null, period: null };
const main = document.getElementById("main");

function t(key, vars = {}) {
  const text = state.msgs[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? `{${name}}`));
}
function fmt(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString(state.lang === "nl" ? "nl-NL" : "en-GB", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) el.append(child);
  return el;
}
function show(...nodes) {
  main.replaceChildren(...nodes.flat().filter((node) => node !== null && node !== undefined));
}
function table(headers, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map(([label, cls]) => h("th", { class: cls, scope: "col" }, label)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map(([value, cls]) => h("td", { class: cls }, value))))));
}
class ApiError extends Error { constructor(status, body) { super(body?.error?.message || `HTTP ${status}`); this.status = status; this.body = body; } }

async function api(path, options = {}) {
  const headers = { Accept: "application/json", "Accept-Language": state.lang, ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (options.json) { headers["Content-Type"] = "application/json"; options.body = JSON.stringify(options.json); }
  const response = await fetch(API + path, { ...options, headers });
  if (response.status === 401 && path !== "/auth/token") { logout(false); throw new ApiError(401, null); }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.blob();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

async function loadLanguage(lang) {
  state.lang = lang;
  localStorage.setItem("pt.lang", lang);
  state.msgs = await (await fetch(`/static/i18n/${lang}.json`)).json();
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.getElementById("lang").textContent = t("switch");
  document.getElementById("lang").setAttribute("lang", lang === "nl" ? "en" : "nl");
  document.getElementById("nav").setAttribute("aria-label", t("nav.label"));
  showUser();
}

function showUser() {
  const signedIn = Boolean(state.token && state.user);
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("logout").hidden = !signedIn;
  document.getElementById("who").textContent = signedIn ? t("who", { user: state.user.username, role: state.user.role }) : "";
}

function logout(callApi = true) {
  if (callApi && state.token) api("/auth/logout", { method: "POST" }).catch(() => {});
  state.token = null; state.user = null;
  sessionStorage.removeItem("pt.token"); sessionStorage.removeItem("pt.user");
  showUser(); renderLogin();
}

function renderLogin() {
  const message = h("p", { role: "alert", class: "error", hidden: true });
  const form = h("form", { class: "login card", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const data = new FormData(form);
      const out = await api("/auth/token", { method: "POST", json: { username: data.get("username"), password: data.get("password") } });
      state.token = out.access_token; state.user = out.user;
      sessionStorage.setItem("pt.token", state.token); sessionStorage.setItem("pt.user", JSON.stringify(state.user));
      showUser();
      if (location.hash === "" || location.hash === "#/login") location.hash = "#/map"; else route();
    } catch (error) { message.hidden = false; message.textContent = t("login.failed"); }
  } },
  h("h2", {}, t("login.title")),
  h("label", {}, t("login.user"), h("input", { name: "username", id: "username", autocomplete: "username", required: true })),
  h("label", {}, t("login.password"), h("input", { name: "password", id: "password", type: "password", autocomplete: "current-password", required: true })),
  h("button", { class: "primary", type: "submit", id: "login-submit" }, t("login.submit")), message);
  show(form);
}

function showError(error) {
  const text = error.status === 451 ? t("withdrawn", { message: error.message }) : t("error", { message: error.message });
  show(h("p", { class: "error", role: "alert" }, text));
}

function vintageLine(v, runId) {
  return h("p", { class: "vintage", id: "vintage" }, t("vintage", { until: v.data_until ?? "–", imported: (v.imported_at || "–").slice(0, 16).replace("T", " "),
    run: runId, created: v.run_created_at.slice(0, 16).replace("T", " ") }));
}

async function currentRun() {
  if (!state.run) {
    const runs = await api("/runs?kind=forecast&limit=1");
    if (!runs.items.length) return null;
    state.run = await api(`/runs/${encodeURIComponent(runs.items[0].run_id)}`);
  }
  return state.run;
}

function colour(value, breaks) {
  let i = 0;
  while (i < breaks.length && value > breaks[i]) i += 1;
  return SCALE[Math.min(i, SCALE.length - 1)];
}

function quantileBreaks(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const cuts = [];
  for (let k = 1; k < SCALE.length; k += 1) cuts.push(sorted[Math.floor((k / SCALE.length) * (sorted.length - 1))] ?? 0);
  return [...new Set(cuts)];
}

function ringPath(rings, box) {
  const sx = (x) => (x - box[0]).toFixed(1), sy = (y) => (box[3] - y).toFixed(1);
  return rings.map((ring) => "M" + ring.map(([x, y]) => `${sx(x)},${sy(y)}`).join("L") + "Z").join("");
}
function geometryPath(geometry, box) {
  if (!geometry) return "";
  if (geometry.type === "Polygon") return ringPath(geometry.coordinates, box);
  if (geometry.type === "MultiPolygon") return geometry.coordinates.map((p) => ringPath(p, box)).join("");
  return "";
}

async function renderMap() {
  show(h("p", {}, t("loading")));
  const run = await currentRun();
  if (!run) { show(h("p", {}, t("norun"))); return; }
  state.category = state.category && run.categories.includes(state.category) ? state.category : run.categories[0];
  state.period = state.period && run.periods.includes(state.period) ? state.period : run.periods[0];
  const [areas, page] = await Promise.all([
    api("/areas?level=buurt&limit=20000"),
    api(`/forecasts?run_id=${encodeURIComponent(run.run_id)}&category=${state.category}&period_start=${state.period}&limit=1000`),
  ]);
  const byArea = new Map(page.items.map((row) => [row.area_code, row]));
  const breaks = quantileBreaks(page.items.map((r) => r.mean));
  const box = areas.bbox;
  // Areas listed by name only (no boundaries): no bbox, so the map says so and the list carries the forecast.
  const svg = box ? document.createElementNS(SVG, "svg") : h("p", { class: "warning", role: "note" }, t("map.nogeometry"));
  if (box) {
    svg.setAttribute("viewBox", `0 0 ${box[2] - box[0]} ${box[3] - box[1]}`);
    svg.setAttribute("class", "map"); svg.setAttribute("role", "group"); svg.setAttribute("aria-label", t("map.aria"));
  }
  for (const feature of box ? areas.features : []) {
    const row = byArea.get(feature.id);
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", geometryPath(feature.geometry, box));
    path.setAttribute("data-area", feature.id);
    if (row) {
      path.setAttribute("fill", colour(row.mean, breaks));
      path.setAttribute("tabindex", "0"); path.setAttribute("role", "link");
      const label = t("map.area_aria", { name: feature.properties.name || feature.id, mean: fmt(row.mean), lo: fmt(row.q05), hi: fmt(row.q95), flag: row.flagged ? t("map.flag_word") : "" });
      path.setAttribute("aria-label", label);
      const title = document.createElementNS(SVG, "title"); title.textContent = label; path.append(title);
      if (row.flagged) path.classList.add("flagged");
      const open = () => { location.hash = `#/area/${feature.id}`; };
      path.addEventListener("click", open);
      path.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
    } else path.setAttribute("fill", "#e5e7eb");
    svg.append(path);
  }
  const legendItems = [["≤ " + fmt(breaks[0] ?? 0), SCALE[0]], ...breaks.map((b, i) => [(i + 1 < breaks.length ? fmt(b) + " – " + fmt(breaks[i + 1]) : "> " + fmt(b)), SCALE[Math.min(i + 1, SCALE.length - 1)]])];
  const legend = h("div", { class: "legend", "aria-label": t("map.legend") }, h("span", {}, t("map.legend")),
    legendItems.map(([label, fill]) => h("span", {}, h("span", { class: "sw", style: `background:${fill}` }), label)));
  const select = (id, label, values, current, onchange) => h("label", {}, label + " ",
    h("select", { id, onchange }, values.map((v) => h("option", { value: v, selected: v === current }, v))));
  const controls = h("div", { class: "controls" },
    select("category", t("map.category"), run.categories, state.category, (e) => { state.category = e.target.value; renderMap(); }),
    select("period", t("map.period"), run.periods, state.period, (e) => { state.period = e.target.value; renderMap(); }));
  const sorted = [...page.items].sort((a, b) => b.mean - a.mean);
  const list = table([[t("col.area")], [t("col.mean"), "num"], [t("col.interval"), "num"], [t("col.flag")]],
    sorted.map((r) => [[h("button", { type: "button", "data-area": r.area_code, onclick: () => { location.hash = `#/area/${r.area_code}`; } }, r.area_name || r.area_code)],
      [fmt(r.mean), "num"], [`${fmt(r.q05)} – ${fmt(r.q95)}`, "num"], [r.flagged ? t("yes") : t("no")]]));
  show(
    h("h2", {}, t("map.title")),
    vintageLine(page.vintage, run.run_id),
    run.status !== "ok" ? h("p", { class: "warning", role: "note" }, t("noskill", { status: run.status })) : null,
    controls,
    h("div", { class: "grid" },
      h("section", { class: "card" }, svg, legend, h("p", { class: "vintage" }, t("map.flagged"))),
      h("section", { class: "card arealist" }, h("h3", {}, t("map.list")), h("div", { class: "scroll" }, list))));
}

// The model's own drivers when the run stored them (sentence in the requested language), else the comparison
// with the recent record, labelled as not being the model's drivers.
function explanationText(e) {
  if (e.source === "model" && e.model) {
    return t("explain.model", { period: e.model.period_start, mean: fmt(e.model.mean), usual: fmt(e.model.usual), text: e.model.text });
  }
  const vars = { period: e.first_period, mean: fmt(e.forecast_mean), n: e.recent_periods, recent: fmt(e.recent_mean) };
  const text = e.recent_mean === null ? t("explain.nohistory", vars) : t(`explain.${e.direction}`, vars);
  return `${text} ${t("explain.fallback")}`;
}

async function renderArea(code) {
  show(h("p", {}, t("loading")));
  const run = await currentRun();
  if (!run) { show(h("p", {}, t("norun"))); return; }
  const category = state.category || run.categories[0];
  const area = await api(`/forecasts/${encodeURIComponent(run.run_id)}/areas/${encodeURIComponent(code)}?category=${category}`);
  const chart = h("div", { class: "chart", id: "area-chart", role: "img", "aria-label": t("area.chart_aria") });
  const forecastTable = table([[t("col.period")], [t("col.mean"), "num"], [t("col.interval"), "num"]],
    area.forecast.map((r) => [[r.period_start], [fmt(r.mean), "num", ], [`${fmt(r.q05)} – ${fmt(r.q95)}`, "num"]]));
  forecastTable.id = "forecast-table";
  const decisions = h("section", { class: "card", id: "decisions" }, h("h3", {}, t("decisions.title")),
    area.decisions.length ? table([[t("col.at")], [t("col.actor")], [t("decisions.action")], [t("decisions.reason")]],
      area.decisions.map((d) => [[d.at.slice(0, 19).replace("T", " ")], [d.actor], [t(`action.${d.action}`)], [d.reason]])) : h("p", {}, t("decisions.none")));
  if (["analyst", "admin"].includes(state.user.role)) {
    const status = h("p", { role: "status", id: "decision-status" });
    const form = h("form", { class: "decision", onsubmit: async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        const out = await api("/decisions", { method: "POST", json: { run_id: run.run_id, area_code: code, action: data.get("action"), reason: data.get("reason") } });
        await renderArea(code);
        const shown = document.getElementById("decision-status");
        if (shown) shown.textContent = t("decisions.saved", { seq: out.log_seq });
      } catch (error) { status.textContent = t("error", { message: error.message }); }
    } },
    h("label", {}, t("decisions.action") + " ", h("select", { name: "action", id: "decision-action" },
      ["accept", "reject", "annotate"].map((a) => h("option", { value: a }, t(`action.${a}`))))),
    h("label", {}, t("decisions.reason"), h("textarea", { name: "reason", id: "decision-reason", required: true, minlength: "5" })),
    h("button", { class: "primary", type: "submit", id: "decision-submit" }, t("decisions.submit")), status);
    decisions.append(form);
  } else decisions.append(h("p", { class: "vintage" }, t("decisions.readonly")));
  let protectedCard = null;
  if (state.user.role === "auditor") {
    const values = await api(`/areas/${encodeURIComponent(code)}/protected`);
    protectedCard = h("section", { class: "card" }, h("h3", {}, t("protected.title")),
      table([["year"], ["attribute"], ["value", "num"]], values.values.map((v) => [[String(v.year)], [v.attribute], [fmt(v.value, 3), "num"]])));
  }
  show(
    h("p", {}, h("a", { href: "#/map" }, t("area.back"))),
    h("h2", { id: "area-title" }, t("area.title", { name: area.area_name || code, code }) + ` — ${category}`),
    vintageLine(area.vintage, run.run_id),
    area.status !== "ok" ? h("p", { class: "warning", role: "note" }, t("noskill", { status: area.status })) : null,
    h("p", { id: "explanation" }, explanationText(area.explanation)),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h3", {}, t("area.history")), chart),
      h("section", { class: "card" }, h("h3", {}, t("area.forecast")), forecastTable)),
    decisions, protectedCard);
  if (window.Plotly) {
    const hx = area.history.map((p) => p.period_start), fx = area.forecast.map((r) => r.period_start);
    window.Plotly.newPlot(chart, [
      { x: hx, y: area.history.map((p) => p.count), name: t("series.history"), mode: "lines+markers", line: { color: "#444" } },
      { x: [...fx, ...[...fx].reverse()], y: [...area.forecast.map((r) => r.q95), ...[...area.forecast].reverse().map((r) => r.q05)], fill: "toself", name: t("series.band"), line: { width: 0 }, fillcolor: "rgba(49,130,189,0.3)" },
      { x: fx, y: area.forecast.map((r) => r.mean), name: t("series.mean"), mode: "lines+markers", line: { color: "#08519c" } },
    ], { margin: { t: 10, r: 10, b: 40, l: 40 }, legend: { orientation: "h" } }, { displaylogo: false, responsive: true });
  }
}

async function renderEvidence() {
  const run = await currentRun();
  if (!run) { show(h("p", {}, t("norun"))); return; }
  let ev;
  try { ev = await api(`/evidence/${encodeURIComponent(run.run_id)}`); } catch (error) {
    if (error.status === 404) { show(h("h2", {}, t("evidence.title")), h("p", {}, t("evidence.none"))); return; }
    throw error;
  }
  const level = Math.round((ev.level ?? 0.95) * 100);
  const skill = h("div", { class: "chart", id: "skill-chart", role: "img", "aria-label": t("evidence.skill") });
  const pai = h("div", { class: "chart", id: "pai-chart", role: "img", "aria-label": t("evidence.pai") });
  const cal = h("div", { class: "chart", id: "cal-chart", role: "img", "aria-label": t("evidence.calibration") });
  show(h("h2", {}, t("evidence.title")),
    h("p", {}, t("evidence.baseline", { baseline: ev.baseline ?? "–", level })),
    run.status !== "ok" ? h("p", { class: "warning", role: "note" }, t("noskill", { status: run.status })) : null,
    h("section", { class: "card" }, table([[t("col.model")], [t("col.skill"), "num"], [t("col.deviance"), "num"], [t("col.coverage"), "num"]],
      ev.models.map((m) => [[m.model + (m.naive ? " (naive)" : "")], [`${fmt(m.skill, 3)} [${fmt(m.skill_lo, 3)}, ${fmt(m.skill_hi, 3)}]`, "num"], [fmt(m.deviance, 3), "num"], [fmt(m.coverage90, 2), "num"]]))),
    h("div", { class: "grid" }, h("section", { class: "card" }, h("h3", {}, t("evidence.skill")), skill), h("section", { class: "card" }, h("h3", {}, t("evidence.pai")), pai)),
    h("section", { class: "card" }, h("h3", {}, t("evidence.calibration")), cal));
  if (!window.Plotly) return;
  const layout = { margin: { t: 10, r: 10, b: 40, l: 50 }, legend: { orientation: "h" } };
  window.Plotly.newPlot(skill, [{ type: "scatter", mode: "markers", x: ev.models.map((m) => m.model), y: ev.models.map((m) => m.skill),
    error_y: { type: "data", symmetric: false, array: ev.models.map((m) => (m.skill_hi ?? m.skill) - m.skill), arrayminus: ev.models.map((m) => m.skill - (m.skill_lo ?? m.skill)) } }], layout, { displaylogo: false, responsive: true });
  window.Plotly.newPlot(pai, ev.models.map((m) => ({ name: m.model, mode: "lines+markers", x: Object.keys(m.pai).map(Number), y: Object.values(m.pai) })),
    { ...layout, xaxis: { title: { text: t("evidence.pai_x") } } }, { displaylogo: false, responsive: true });
  const nominal = [0.05, 0.5, 0.95];
  window.Plotly.newPlot(cal, [{ name: t("evidence.nominal"), x: nominal, y: nominal, mode: "lines", line: { dash: "dot", color: "#888" } },
    ...ev.models.map((m) => ({ name: m.model, mode: "markers+lines", x: nominal, y: [m.below_q05, m.below_q50, m.below_q95] }))], layout, { displaylogo: false, responsive: true });
}

function resultCards(items, empty) {
  if (!items.length) return [h("p", {}, empty)];
  return items.map((r) => h("section", { class: "card" }, h("h3", {}, `${r.kind}: ${r.payload.name ?? r.result_id}`),
    h("p", { class: "vintage" }, `${r.result_id} · ${r.source} · ${(r.created_at || "").slice(0, 16).replace("T", " ")}${r.status ? " · " + r.status : ""}`),
    Array.isArray(r.payload.summary) ? h("ul", {}, r.payload.summary.map((line) => h("li", {}, String(line)))) : null,
    Array.isArray(r.payload.metrics) && r.payload.metrics.length ? table(Object.keys(r.payload.metrics[0]).map((k) => [k]),
      r.payload.metrics.map((row) => Object.values(row).map((v) => [typeof v === "number" ? fmt(v, 3) : String(v)]))) : null,
    h("details", {}, h("summary", {}, "JSON"), h("pre", { class: "payload" }, JSON.stringify(r.payload, null, 2)))));
}

async function renderFairness() {
  const audits = await api("/audits?limit=50");
  show(h("h2", {}, t("fairness.title")), h("p", {}, t("fairness.intro")), ...resultCards(audits.items, t("fairness.none")));
}

async function renderScenarios() {
  const results = await api("/scenarios?limit=50");
  show(h("h2", {}, t("scenarios.title")), h("p", {}, t("scenarios.intro")), ...resultCards(results.items, t("scenarios.none")));
}

async function renderLog() {
  const parts = [h("h2", {}, t("log.title")), h("p", {}, t("log.privacy"))];
  try {
    const [check, page] = await Promise.all([api("/log/verify"), api("/log?limit=200")]);
    parts.push(h("p", { id: "log-verify", class: check.ok ? "ok" : "bad" }, check.ok ? t("log.verify_ok", { n: check.n_records }) : t("log.verify_bad", { seq: check.first_bad_seq, reason: check.reason })));
    const logTable = table([[t("col.seq"), "num"], [t("col.at")], [t("col.actor")], [t("col.action")], [t("col.subject")], [t("col.detail")]],
      page.items.map((r) => [[String(r.seq), "num"], [r.at.slice(0, 19).replace("T", " ")], [r.actor], [r.action], [r.subject], [JSON.stringify(r.detail)]]));
    logTable.id = "log-table";
    parts.push(h("section", { class: "card scroll" }, logTable));
  } catch (error) {
    if (error.status !== 403) throw error;
    parts.push(h("p", { class: "warning" }, t("log.forbidden")));
  }
  show(...parts);
}

async function renderDocuments() {
  const docs = await api("/documents");
  const download = async (doc) => {
    const blob = await api(`/documents/${doc.name.split("/").map(encodeURIComponent).join("/")}`, { headers: { Accept: "*/*" } });
    const url = URL.createObjectURL(blob instanceof Blob ? blob : new Blob([JSON.stringify(blob)], { type: doc.media_type }));
    const link = h("a", { href: url, download: doc.name.split("/").pop() }); document.body.append(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  };
  show(h("h2", {}, t("documents.title")), docs.length ? h("section", { class: "card" }, table(
    [[t("col.name")], [t("col.size"), "num"], [t("col.modified")], [""]],
    docs.map((d) => [[d.name], [fmt(d.size, 0), "num"], [d.modified.slice(0, 16).replace("T", " ")], [h("button", { type: "button", onclick: () => download(d) }, t("documents.download"))]]))) : h("p", {}, t("documents.none")));
}

const ROUTES = { map: renderMap, area: renderArea, evidence: renderEvidence, fairness: renderFairness, scenarios: renderScenarios, log: renderLog, documents: renderDocuments };

async function route() {
  delete main.dataset.ready;
  if (!state.token) { renderLogin(); main.dataset.ready = "login"; return; }
  const [name, arg] = location.hash.replace(/^#\//, "").split("/");
  const page = ROUTES[name] ? name : "map";
  document.querySelectorAll("#nav a").forEach((a) => { if (a.getAttribute("href") === `#/${page === "area" ? "map" : page}`) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current"); });
  try { await ROUTES[page](arg ? decodeURIComponent(arg) : undefined); main.focus({ preventScroll: true }); }
  catch (error) { if (error.status !== 401) showError(error); }
  main.dataset.ready = page;
}

document.getElementById("lang").addEventListener("click", async () => { await loadLanguage(state.lang === "nl" ? "en" : "nl"); route(); });
document.getElementById("logout").addEventListener("click", () => logout(true));
window.addEventListener("hashchange", route);
await loadLanguage(state.lang);
route();
