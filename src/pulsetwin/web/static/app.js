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

// The two statuses of a run, each its own sentence and colour: skill (beats the best naive rule or not) and
// release (released, or blocked by the audit with the finding and a link to the fairness page).
function statusBlock(statuses) {
  if (!statuses) return null;
  const skillClass = { beats: "status-good", does_not: "status-bad", cannot_assess: "status-neutral" }[statuses.skill.state];
  const releaseClass = { released: "status-good", blocked: "status-bad", cannot_assess: "status-neutral", not_audited: "status-neutral" }[statuses.release.state];
  const release = h("p", { class: `status ${releaseClass}`, id: "status-release", role: "note" },
    h("strong", {}, t(`status.release.${statuses.release.state}`) + " "), statuses.release.sentence);
  if (statuses.release.audit_run) release.append(" ", h("a", { href: "#/fairness" }, t("status.release.link")));
  return h("div", { class: "statuses" },
    h("p", { class: `status ${skillClass}`, id: "status-skill", role: "note" },
      h("strong", {}, t(`status.skill.${statuses.skill.state}`) + " "), statuses.skill.sentence),
    release);
}
function categoryName(run, slug) {
  const found = (run.category_labels || []).find((c) => c.slug === slug);
  return found ? found[state.lang] : slug;
}
function unitWord(run) { return t(run.freq === "M" ? "unit.month" : "unit.week"); }

async function currentRun() {
  // The newest forecast run and its statuses on every page: a run made or audited while the dashboard is open
  // shows up without a restart.
  const runs = await api("/runs?kind=forecast&limit=1");
  if (!runs.items.length) return null;
  state.run = await api(`/runs/${encodeURIComponent(runs.items[0].run_id)}`);
  return state.run;
}

function colour(value, breaks) {
  let i = 0;
  while (i < breaks.length && value > breaks[i]) i += 1;
  return SCALE[Math.min(i, SCALE.length - 1)];
}

// Upper bounds of up to 8 quantile classes; a class is only kept when it holds values of its own, so the
// legend never repeats a range. Labels get as many decimals as it takes to tell the bounds apart.
function quantileBreaks(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const cuts = [];
  for (let k = 1; k < SCALE.length; k += 1) {
    const cut = sorted[Math.floor((k / SCALE.length) * (sorted.length - 1))] ?? 0;
    if (!cuts.length || cut > cuts[cuts.length - 1]) cuts.push(cut);
  }
  if (cuts.length && cuts[cuts.length - 1] >= sorted[sorted.length - 1]) cuts.pop();
  return cuts;
}
function legendDigits(breaks) {
  for (let d = 1; d <= 4; d += 1) {
    const shown = breaks.map((b) => b.toFixed(d));
    if (new Set(shown).size === shown.length) return d;
  }
  return 4;
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
  const [areas, wijken, page, hotspots] = await Promise.all([
    api("/areas?level=buurt&limit=20000"),
    api("/areas?level=wijk&limit=20000").catch(() => ({ features: [] })),
    api(`/forecasts?run_id=${encodeURIComponent(run.run_id)}&category=${state.category}&period_start=${state.period}&limit=1000`),
    api("/hotspots").catch(() => null),
  ]);
  const byArea = new Map(page.items.map((row) => [row.area_code, row]));
  const breaks = quantileBreaks(page.items.map((r) => r.mean));
  const digits = legendDigits(breaks);
  const box = areas.bbox;
  const tip = h("div", { class: "maptip", id: "map-tip", role: "status", hidden: true });
  const unit = unitWord(run);
  // Areas listed by name only (no boundaries): no bbox, so the map says so and the list carries the forecast.
  const svg = box ? document.createElementNS(SVG, "svg") : h("p", { class: "warning", role: "note" }, t("map.nogeometry"));
  if (box) {
    svg.setAttribute("viewBox", `0 0 ${box[2] - box[0]} ${box[3] - box[1]}`);
    svg.setAttribute("class", "map"); svg.setAttribute("role", "group"); svg.setAttribute("aria-label", t("map.aria"));
    state.health = state.health || await api("/health");
    if (state.health.background_url) {  // only when the server is configured with one: nothing is fetched by default
      const [w, hgt] = [Math.round(box[2] - box[0]), Math.round(box[3] - box[1])];
      const scale = Math.min(1, 2000 / Math.max(w, hgt));
      const image = document.createElementNS(SVG, "image");
      image.setAttribute("href", state.health.background_url.replace("{bbox}", box.join(",")).replace("{width}", Math.round(w * scale)).replace("{height}", Math.round(hgt * scale)));
      image.setAttribute("x", 0); image.setAttribute("y", 0); image.setAttribute("width", w); image.setAttribute("height", hgt);
      image.setAttribute("opacity", "0.6"); image.setAttribute("id", "background-map");
      svg.append(image); svg.classList.add("with-background");
    }
  }
  for (const feature of box ? areas.features : []) {
    const row = byArea.get(feature.id);
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", geometryPath(feature.geometry, box));
    path.setAttribute("data-area", feature.id);
    if (row) {
      path.setAttribute("fill", colour(row.mean, breaks));
      path.setAttribute("tabindex", "0"); path.setAttribute("role", "link");
      const label = t("map.area_aria", { name: feature.properties.name || feature.id, mean: fmt(row.mean), lo: fmt(row.q05), hi: fmt(row.q95), flag: row.flagged ? t("map.flag_word") : "", unit });
      path.setAttribute("aria-label", label);
      const title = document.createElementNS(SVG, "title"); title.textContent = label; path.append(title);
      if (row.flagged) path.classList.add("flagged");
      const open = () => { location.hash = `#/area/${feature.id}`; };
      const hover = () => { tip.hidden = false; tip.textContent = label; };
      path.addEventListener("click", open);
      path.addEventListener("mouseenter", hover); path.addEventListener("focus", hover);
      path.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
    } else path.setAttribute("fill", "#e5e7eb");
    svg.append(path);
  }
  for (const feature of box ? wijken.features : []) {
    const border = document.createElementNS(SVG, "path");
    border.setAttribute("d", geometryPath(feature.geometry, box));
    border.setAttribute("class", "wijk");
    svg.append(border);
  }
  let hotspotLayer = null;
  if (box && hotspots && hotspots.cells.length) {
    hotspotLayer = document.createElementNS(SVG, "g");
    hotspotLayer.setAttribute("class", "hotspots");
    hotspotLayer.setAttribute("id", "hotspot-layer");
    for (const cell of hotspots.cells) {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", cell.x_min - box[0]); rect.setAttribute("y", box[3] - cell.y_min - hotspots.cell_m);
      rect.setAttribute("width", hotspots.cell_m); rect.setAttribute("height", hotspots.cell_m);
      const title = document.createElementNS(SVG, "title");
      title.textContent = t("hotspots.cell", { rank: cell.rank, mean: fmt(cell.mean, 3), days: hotspots.window_days });
      rect.append(title); hotspotLayer.append(rect);
    }
    svg.append(hotspotLayer);
  }
  const lower = [0, ...breaks];
  const legendItems = [...breaks, null].map((upper, i) => [
    upper === null ? "> " + fmt(lower[i], digits) : i === 0 ? "≤ " + fmt(upper, digits) : `${fmt(lower[i], digits)} – ${fmt(upper, digits)}`,
    SCALE[Math.min(i, SCALE.length - 1)]]);
  const legend = h("div", { class: "legend", id: "map-legend", "aria-label": t("map.legend", { unit }) }, h("span", {}, t("map.legend", { unit })),
    legendItems.map(([label, fill]) => h("span", {}, h("span", { class: "sw", style: `background:${fill}` }), label)));
  const select = (id, label, values, current, onchange, name = (v) => v) => h("label", {}, label + " ",
    h("select", { id, onchange }, values.map((v) => h("option", { value: v, selected: v === current }, name(v)))));
  const controls = h("div", { class: "controls" },
    select("category", t("map.category"), run.categories, state.category, (e) => { state.category = e.target.value; renderMap(); }, (v) => categoryName(run, v)),
    select("period", t("map.period"), run.periods, state.period, (e) => { state.period = e.target.value; renderMap(); }),
    hotspotLayer ? h("label", {}, h("input", { type: "checkbox", id: "hotspot-toggle", checked: true,
      onchange: (e) => { hotspotLayer.style.display = e.target.checked ? "" : "none"; } }), " " + t("hotspots.toggle", { category: (hotspots.categories || []).map((c) => categoryName({ category_labels: hotspots.category_labels }, c)).join(", "), cell: hotspots.cell_m })) : null);
  const sorted = [...page.items].sort((a, b) => b.mean - a.mean);
  const list = table([[t("col.area")], [t("col.mean") + ` (${unit})`, "num"], [t("col.interval"), "num"], [t("col.flag")]],
    sorted.map((r) => [[h("button", { type: "button", "data-area": r.area_code, onclick: () => { location.hash = `#/area/${r.area_code}`; } }, r.area_name || r.area_code)],
      [fmt(r.mean), "num"], [`${fmt(r.q05)} – ${fmt(r.q95)}`, "num"], [r.flagged ? t("yes") : t("no")]]));
  show(
    h("h2", {}, t("map.title", { category: categoryName(run, state.category), unit })),
    vintageLine(page.vintage, run.run_id),
    statusBlock(run.statuses),
    controls,
    h("div", { class: "grid" },
      h("section", { class: "card mapcard" }, svg, tip, legend, h("p", { class: "vintage" }, t("map.flagged")),
        wijken.features.length ? h("p", { class: "vintage" }, t("map.wijk")) : null,
        hotspotLayer ? h("p", { class: "vintage", id: "hotspot-note" }, t("hotspots.note", { origin: (hotspots.origin || "").slice(0, 10), days: hotspots.window_days, n: hotspots.cells.length, model: hotspots.model })) : null),
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
      table([[t("protected.year")], [t("protected.attribute")], [t("protected.value"), "num"]], values.values.map((v) => [[String(v.year)], [t(`attribute.${v.attribute}`).startsWith("attribute.") ? v.attribute : t(`attribute.${v.attribute}`)], [fmt(v.value, 3), "num"]])));
  }
  show(
    h("p", {}, h("a", { href: "#/map" }, t("area.back"))),
    h("h2", { id: "area-title" }, t("area.title", { name: area.area_name || code, code }) + ` — ${categoryName(run, category)} (${unitWord(run)})`),
    vintageLine(area.vintage, run.run_id),
    statusBlock(area.statuses),
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
    if (error.status === 404) { show(h("h2", {}, t("evidence.title")), statusBlock(run.statuses), h("p", {}, t("evidence.none"))); return; }
    throw error;
  }
  const level = Math.round((ev.level ?? 0.95) * 100);
  const skill = h("div", { class: "chart", id: "skill-chart", role: "img", "aria-label": t("evidence.skill") });
  const pai = h("div", { class: "chart", id: "pai-chart", role: "img", "aria-label": t("evidence.pai") });
  const cal = h("div", { class: "chart", id: "cal-chart", role: "img", "aria-label": t("evidence.calibration") });
  const shown = ev.models.filter((m) => !m.naive || m.model === ev.baseline);
  const offScale = ev.models.filter((m) => m.naive && m.model !== ev.baseline && m.skill !== null);
  const hasPit = ev.models.some((m) => m.pit && m.pit.length);
  // Plain names from the API's vocabulary; the code (naive_last, glm) only as a tooltip.
  const name = (m) => m.label || m.model;
  show(h("h2", {}, t("evidence.title")),
    statusBlock(ev.statuses),
    h("p", {}, t("evidence.baseline", { baseline: ev.baseline_label ?? ev.baseline ?? "–", level })),
    h("section", { class: "card" }, h("h3", {}, t("evidence.measures")), h("ul", { class: "measures" },
      ["skill", "deviance", "coverage", "pai", "calibration"].map((k) => h("li", {}, t(`measure.${k}`))))),
    h("section", { class: "card" }, table([[t("col.model")], [t("col.skill"), "num"], [t("col.deviance"), "num"], [t("col.coverage"), "num"]],
      ev.models.map((m) => [[h("span", { title: m.model }, name(m) + (m.naive ? ` (${t("evidence.naive")})` : ""))], [`${fmt(m.skill, 3)} [${fmt(m.skill_lo, 3)}, ${fmt(m.skill_hi, 3)}]`, "num"], [fmt(m.deviance, 3), "num"], [fmt(m.coverage90, 2), "num"]]))),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h3", {}, t("evidence.skill")), skill,
        offScale.length ? h("p", { class: "vintage", id: "skill-offscale" }, t("evidence.offscale", { rules: offScale.map((m) => `${name(m)} ${fmt(m.skill, 2)}`).join(", ") })) : null),
      h("section", { class: "card" }, h("h3", {}, t("evidence.pai")), pai)),
    h("section", { class: "card" }, h("h3", {}, t("evidence.calibration")),
      h("p", { class: "vintage", id: "cal-caption" }, t(hasPit ? "evidence.cal_caption" : "evidence.cal_caption_old")), cal));
  if (!window.Plotly) return;
  const config = { displaylogo: false, responsive: true };
  const layout = { margin: { t: 10, r: 10, b: 50, l: 60 }, showlegend: false };
  const lows = shown.map((m) => m.skill_lo ?? m.skill ?? 0), highs = shown.map((m) => m.skill_hi ?? m.skill ?? 0);
  const span = Math.max(...highs, 0) - Math.min(...lows, 0) || 1;
  window.Plotly.newPlot(skill, [{ type: "scatter", mode: "markers", y: shown.map(name), x: shown.map((m) => m.skill),
    marker: { size: 10, color: shown.map((m) => ((m.skill_lo ?? -1) > 0 ? "#1b6e2a" : "#8a5a00")) },
    error_x: { type: "data", symmetric: false, array: shown.map((m) => (m.skill_hi ?? m.skill) - m.skill), arrayminus: shown.map((m) => m.skill - (m.skill_lo ?? m.skill)) } }],
    { ...layout, margin: { t: 10, r: 10, b: 50, l: 110 }, xaxis: { title: { text: t("evidence.skill_x") }, range: [Math.min(...lows, 0) - 0.15 * span, Math.max(...highs, 0) + 0.15 * span], zeroline: true, zerolinewidth: 2 } }, config);
  window.Plotly.newPlot(pai, ev.models.map((m) => ({ name: name(m), mode: "lines+markers", x: Object.keys(m.pai).map(Number), y: Object.values(m.pai) })),
    { ...layout, showlegend: true, legend: { orientation: "h", y: -0.35 }, margin: { t: 10, r: 10, b: 110, l: 50 }, xaxis: { title: { text: t("evidence.pai_x") } }, yaxis: { title: { text: "PAI" } } }, config);
  const nominal = [0.05, 0.5, 0.95];
  const traces = [{ name: t("evidence.nominal"), x: [0, 1], y: [0, 1], mode: "lines", line: { dash: "dot", color: "#888" }, xaxis: "x", yaxis: "y" }];
  shown.forEach((m, i) => {
    const lo = [m.below_q05_strict, m.below_q50_strict, m.below_q95_strict], hi = [m.below_q05, m.below_q50, m.below_q95];
    const mid = hi.map((v, k) => (lo[k] === null || lo[k] === undefined ? v : (v + lo[k]) / 2));
    traces.push({ name: name(m), mode: "markers", x: nominal.map((v) => v + (i - shown.length / 2) * 0.01), y: mid, xaxis: "x", yaxis: "y",
      error_y: { type: "data", symmetric: false, array: hi.map((v, k) => v - mid[k]), arrayminus: mid.map((v, k) => v - (lo[k] ?? v)) } });
    if (hasPit && m.pit.length) traces.push({ type: "bar", name: name(m), showlegend: false, x: m.pit.map((_, k) => 0.05 + k * 0.1), y: m.pit.map((v) => v * m.pit.length), xaxis: "x2", yaxis: "y2", opacity: 0.7 });
  });
  window.Plotly.newPlot(cal, traces, { ...layout, showlegend: true, legend: { orientation: "h", y: -0.3 }, margin: { t: 30, r: 10, b: 100, l: 50 }, barmode: "group",
    grid: hasPit ? { rows: 1, columns: 2, pattern: "independent" } : undefined,
    xaxis: { title: { text: t("evidence.cal_x") }, range: [0, 1] }, yaxis: { title: { text: t("evidence.cal_y") }, range: [0, 1] },
    xaxis2: { title: { text: t("evidence.pit_x") }, range: [0, 1] }, yaxis2: { title: { text: t("evidence.pit_y") } },
    shapes: hasPit ? [{ type: "line", xref: "x2", yref: "y2", x0: 0, x1: 1, y0: 1, y1: 1, line: { dash: "dot", color: "#888" } }] : [] }, config);
}

function download(name, payload) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(payload, null, 2)], { type: "application/json" }));
  const link = h("a", { href: url, download: name }); document.body.append(link); link.click(); link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Exposure per group (share of residents in a flagged buurt) as bars, the ratio to the reference as text on
// each bar, the band drawn as the reference exposure times its limits.
function exposureChart(group, id) {
  const chart = h("div", { class: "chart small", id, role: "img", "aria-label": t("fairness.chart_aria", { attribute: group.label }) });
  const ratioText = (g) => (g.reference ? t("fairness.reference") : g.ratio === null ? "–" : `×${fmt(g.ratio, 2)}${g.corrected ? "*" : ""}`);
  const rows = group.groups.map((g) => [[g.label], [g.exposure === null ? "–" : `${fmt(g.exposure * 100, 0)} %`, "num"],
    [h("span", { class: g.out_of_band ? "bad" : "" }, ratioText(g) + (g.out_of_band ? ` ${t("fairness.outside")}` : "")), "num"],
    [g.difference === null || g.reference ? "–" : `${g.difference >= 0 ? "+" : "−"}${fmt(Math.abs(g.difference) * 100, 0)} ${t("fairness.points")}`, "num"]]);
  const tableEl = table([[t("fairness.group")], [t("fairness.exposure"), "num"], [t("fairness.ratio"), "num"], [t("fairness.difference"), "num"]], rows);
  tableEl.classList.add("exposure-table");
  const card = h("section", { class: "card" }, h("h3", {}, t("fairness.by", { attribute: group.label })), chart, tableEl,
    group.groups.some((g) => g.corrected) ? h("p", { class: "vintage" }, t("fairness.corrected_note")) : null);
  const draw = () => {
    if (!window.Plotly) return;
    const ref = group.groups.find((g) => g.reference);
    const shapes = ref && ref.exposure !== null && ref.exposure > 0 ? group.band.map((b) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: ref.exposure * b * 100, y1: ref.exposure * b * 100, line: { dash: "dash", color: "#8a5a00" } })) : [];
    window.Plotly.newPlot(chart, [{ type: "bar", x: group.groups.map((g) => g.short), y: group.groups.map((g) => (g.exposure ?? 0) * 100),
      text: group.groups.map(ratioText), textposition: "outside", marker: { color: group.groups.map((g) => (g.out_of_band ? "#b03a2e" : g.reference ? "#6b7280" : "#3182bd")) } }],
    { margin: { t: 20, r: 10, b: 60, l: 60 }, yaxis: { title: { text: t("fairness.exposure_axis") }, rangemode: "tozero" }, shapes, showlegend: false }, { displaylogo: false, responsive: true });
  };
  return [card, draw];
}

async function renderFairness() {
  const run = await currentRun();
  if (!run) { show(h("p", {}, t("norun"))); return; }
  let summary;
  try { summary = await api(`/audits/summary/${encodeURIComponent(run.run_id)}`); } catch (error) {
    if (error.status !== 404) throw error;
    show(h("h2", {}, t("fairness.title")), statusBlock(run.statuses), h("p", {}, t("fairness.none"))); return;
  }
  const charts = summary.exposure.map((g, i) => exposureChart(g, `exposure-chart-${i}`));
  const section = (key, sentences) => (sentences.length ? h("section", { class: "card", id: `fairness-${key}` }, h("h3", {}, t(`fairness.${key}`)), ...sentences.map((x) => h("p", {}, x))) : null);
  show(h("h2", {}, t("fairness.title")),
    h("p", { class: `status ${summary.verdict === "blocked" ? "status-bad" : summary.verdict === "passed" ? "status-good" : "status-neutral"}`, id: "fairness-headline" },
      h("strong", {}, t(`fairness.verdict.${summary.verdict}`) + " "), summary.headline),
    summary.blocking.length > 1 ? h("ul", { id: "fairness-blocking" }, summary.blocking.slice(1).map((x) => h("li", {}, x))) : null,
    h("p", { class: "vintage" }, t("fairness.intro")),
    h("div", { class: "grid2" }, charts.map(([card]) => card)),
    section("disparity", summary.disparity),
    section("proxies", summary.proxies), section("measurement", summary.measurement), section("mitigation", summary.mitigation),
    section("unassessed", summary.unassessed),
    h("p", {}, h("button", { type: "button", id: "fairness-download", onclick: async () => {
      const full = await api(`/audits/${encodeURIComponent(summary.audit_run)}`); download(`${summary.audit_run}.json`, full.payload);
    } }, t("fairness.download")), " ", h("span", { class: "vintage" }, t("fairness.audit_run", { id: summary.audit_run, at: summary.created_at.slice(0, 16).replace("T", " ") }))));
  charts.forEach(([, draw]) => draw());
}

// A scenario or feedback-loop result as sentences, a table of its metrics and its arms, JSON only as a download.
function resultCard(r) {
  const p = r.payload;
  const label = (prefix, key) => { const text = t(`${prefix}.${key}`); return text === `${prefix}.${key}` ? key : text; };
  const lines = Array.isArray(p.summary) ? p.summary.map(String) : [];
  let arms = null, explained = [];
  if (p.summary && typeof p.summary === "object" && !Array.isArray(p.summary)) {
    const keys = [...new Set(Object.values(p.summary).flatMap((v) => Object.keys(v)))];
    arms = table([[t("scenarios.arm")], ...keys.map((k) => [label("metric", k), "num"])],
      Object.entries(p.summary).map(([arm, v]) => [[label("arm", arm)], ...keys.map((k) => [typeof v[k] === "number" ? fmt(v[k], 3) : "–", "num"])]));
    explained = keys.map((k) => t(`metric.${k}.help`)).filter((x) => !x.startsWith("metric."));
  }
  const settings = p.settings && typeof p.settings === "object" ? Object.entries(p.settings).filter(([, v]) => typeof v !== "object").map(([k, v]) => `${k}: ${v}`) : [];
  // A scenario's metrics table: measures named in words (the code stays in the JSON download), help lines below.
  const metrics = Array.isArray(p.metrics) && p.metrics.length ? table(Object.keys(p.metrics[0]).map((k) => [label("metric", k)]),
    p.metrics.map((row) => Object.entries(row).map(([k, v]) => [typeof v === "number" ? fmt(v, 3) : k === "metric" ? label("metric", String(v)) : String(v), typeof v === "number" ? "num" : undefined]))) : null;
  if (metrics) explained = [...explained, ...p.metrics.map((row) => t(`metric.${row.metric}.help`)).filter((x) => !x.startsWith("metric."))];
  return h("section", { class: "card" }, h("h3", {}, `${label("kind", r.kind)}: ${p.name ?? p.category ?? r.result_id}`),
    h("p", { class: "vintage" }, `${(r.created_at || "").slice(0, 16).replace("T", " ")}${r.status ? " · " + r.status : ""} · ${r.result_id}`),
    t(`kind.${r.kind}.intro`).startsWith("kind.") ? null : h("p", {}, t(`kind.${r.kind}.intro`)),
    p.description ? h("p", {}, String(p.description)) : null,
    lines.length ? h("ul", {}, lines.map((line) => h("li", {}, line))) : null,
    arms, metrics,
    explained.length ? h("ul", { class: "vintage" }, explained.map((x) => h("li", {}, x))) : null,
    settings.length ? h("p", { class: "vintage" }, t("scenarios.settings") + " " + settings.join(" · ")) : null,
    h("p", {}, h("button", { type: "button", onclick: () => download(`${r.result_id.replace(/\//g, "_")}.json`, p) }, t("scenarios.download"))));
}

async function renderScenarios() {
  const results = await api("/scenarios?limit=50");
  show(h("h2", {}, t("scenarios.title")), h("p", {}, t("scenarios.intro")),
    ...(results.items.length ? results.items.map(resultCard) : [h("p", {}, t("scenarios.none"))]));
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

// Field trials as pre-registered in the log: design, power, allocation and the latest result, each in words;
// a bar chart of observed against forecast counts per arm. The deviations are quoted as logged (English).
function trialChange(ratio) {
  const pct = fmt(Math.abs(ratio - 1) * 100, 0);
  return ratio <= 1 ? t("trials.lower", { pct }) : t("trials.higher", { pct });
}
function trialResult(r, outcome) {
  const rr = r.rate_ratio;
  const verb = rr.estimate <= 1 ? "trials.result_down" : "trials.result_up";
  const verdict = r.p_value <= r.alpha ? t("trials.significant", { alpha: fmt(r.alpha, 3) }) : t("trials.not_significant", { alpha: fmt(r.alpha, 3) });
  return t(verb, { outcome, pct: fmt(Math.abs(rr.estimate - 1) * 100, 0), level: fmt(rr.level * 100, 0), lo: trialChange(rr.lower), hi: trialChange(rr.upper), p: fmt(r.p_value, 3), verdict });
}
function trialDisplacement(r) {
  if (r.wdq === null) return r.displacement_p_value === null ? t("trials.wdq_none") : t("trials.wdq_uninterpretable");
  return t(r.wdq > 0 ? "trials.wdq_diffusion" : r.wdq < 0 ? "trials.wdq_displacement" : "trials.wdq_zero", { wdq: fmt(r.wdq, 2) });
}
async function trialCard(summary) {
  const d = await api(`/trials/${encodeURIComponent(summary.trial_id)}`);
  let outcome = d.primary_outcome;
  try { outcome = categoryName(await api(`/runs/${encodeURIComponent(d.run_id)}`), d.primary_outcome); } catch (error) { if (error.status !== 404) throw error; }
  const inSentence = outcome.charAt(0).toLocaleLowerCase(state.lang) + outcome.slice(1);
  const a = d.allocation, r = d.result;
  const chart = r ? h("div", { class: "chart small", id: `trial-chart-${d.trial_id}`, role: "img", "aria-label": t("trials.chart_aria") }) : null;
  const card = h("section", { class: "card", id: `trial-${d.trial_id}` },
    h("h3", {}, t("trials.heading", { id: d.trial_id, version: d.version })),
    h("p", {}, d.hypothesis),
    h("p", { class: "trial-design" }, t(`trials.design.${d.design_type}`, { buurten: d.units, blocks: d.blocks, units: a.units, treated: a.treated, control: a.control, outcome: inSentence, periods: d.periods.length, first: d.periods[0], last: d.periods[d.periods.length - 1] }),
      " ", t(`trials.kind.${d.intervention_kind}`, { intervention: d.intervention })),
    h("p", { class: "trial-power" }, t("trials.power", { power: fmt(d.power * 100, 0), effect: fmt(d.effect, 2), target: fmt(d.power_target * 100, 0), alpha: fmt(d.alpha, 3) }),
      " ", d.mde === null ? t("trials.mde_none") : t("trials.mde", { mde: fmt(d.mde, 2) }),
      d.power < d.power_target ? h("span", { class: "bad" }, " " + t("trials.underpowered")) : null),
    h("p", { class: "trial-status vintage" }, t(`trials.status.${d.status}`, { at: d.registered_at.slice(0, 16).replace("T", " "), seq: d.registration_seq, sha: d.registration_sha256.slice(0, 12) })),
    r ? h("p", { class: "status status-neutral trial-result", role: "note" }, h("strong", {}, t("trials.result") + " "), trialResult(r, inSentence)) : h("p", { class: "trial-result" }, t("trials.no_result")),
    r ? h("p", { class: "trial-displacement" }, trialDisplacement(r)) : null,
    r ? h("p", { class: "trial-deviations" }, r.deviations.length ? t("trials.deviations", { n: r.deviations.length }) : t("trials.deviations_none")) : null,
    r && r.deviations.length ? h("ul", {}, r.deviations.map((x) => h("li", { lang: "en" }, x))) : null,
    chart);
  const draw = () => {
    if (!chart || !window.Plotly) return;
    const arms = [t("trials.treated"), t("trials.control")];
    window.Plotly.newPlot(chart, [
      { type: "bar", name: t("trials.expected"), x: arms, y: [r.expected.treated, r.expected.control], marker: { color: "#9ecae1" } },
      { type: "bar", name: t("trials.observed"), x: arms, y: [r.observed.treated, r.observed.control], marker: { color: "#08519c" } }],
    { barmode: "group", margin: { t: 20, r: 10, b: 40, l: 60 }, yaxis: { title: { text: t("trials.count_axis", { outcome }) }, rangemode: "tozero" }, legend: { orientation: "h", y: -0.2 } }, { displaylogo: false, responsive: true });
  };
  return [card, draw];
}

async function renderTrials() {
  let list;
  try { list = await api("/trials"); } catch (error) {
    if (error.status !== 403) throw error;
    show(h("h2", {}, t("trials.title")), h("p", { class: "warning" }, t("trials.forbidden"))); return;
  }
  const cards = await Promise.all(list.map(trialCard));
  const overview = list.length ? h("section", { class: "card" }, table([[t("trials.col.trial")], [t("trials.col.design")], [t("trials.col.buurten"), "num"], [t("trials.col.power"), "num"], [t("trials.col.status")]],
    list.map((s) => [[h("a", { href: `#trial-${s.trial_id}`, onclick: (event) => { event.preventDefault(); document.getElementById(`trial-${s.trial_id}`).scrollIntoView(); } }, s.trial_id)], [t(`trials.type.${s.design_type}`)], [String(s.units), "num"], [`${fmt(s.power * 100, 0)} %`, "num"], [t(`trials.state.${s.status}`)]]))) : null;
  show(h("h2", {}, t("trials.title")), h("p", {}, t("trials.intro")),
    list.length ? overview : h("p", {}, t("trials.none")), cards.map(([card]) => card));
  cards.forEach(([, draw]) => draw());
}

const ROUTES = { map: renderMap, area: renderArea, evidence: renderEvidence, fairness: renderFairness, scenarios: renderScenarios, log: renderLog, documents: renderDocuments, trials: renderTrials };

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
