// veraretouch web app: plain JavaScript over the JSON API in veraretouch/web/app.py.
"use strict";

const PROGRESS_DELAY_MS = 500;
const app = { config: null, session: null, values: {}, mode: "auto", locked: false };
const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ requests and feedback

async function request(path, options = {}) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = `the server answered ${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body.error) message = body.error;
    } catch (_) { /* not JSON: keep the status line */ }
    throw new Error(message);
  }
  return response;
}

async function postJSON(path, body) {
  const response = await request(path, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  return response.json();
}

async function postForm(path, form) {
  return (await request(path, { method: "POST", body: form })).json();
}

let activeTasks = 0;

// Runs `task`, showing `label` with a spinner and the seconds elapsed once it takes longer than half
// a second; with `lock`, every control is disabled meanwhile. Errors go to the message area.
async function withProgress(label, task, { lock = true } = {}) {
  hideMessage();
  const started = performance.now();
  let ticker = null;
  const timer = setTimeout(() => {
    activeTasks += 1;
    const tick = () => { $("status-text").textContent = `${label} ${Math.round((performance.now() - started) / 1000)} s`; };
    tick();
    ticker = setInterval(tick, 500);
    $("status").hidden = false;
  }, PROGRESS_DELAY_MS);
  if (lock) setLocked(true);
  try {
    return await task();
  } catch (error) {
    showMessage(error.message);
    return null;
  } finally {
    clearTimeout(timer);
    if (ticker !== null) {
      clearInterval(ticker);
      activeTasks -= 1;
      if (activeTasks === 0) $("status").hidden = true;
    }
    if (lock) setLocked(false);
  }
}

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = false;
}

function hideMessage() {
  $("message").hidden = true;
}

function setLocked(locked) {
  app.locked = locked;
  document.body.classList.toggle("busy", locked);
  refreshControls();
}

// Enables exactly what makes sense now: modes and sliders once a photo is open, downloads once it is edited.
function refreshControls() {
  const open = app.session !== null && !app.locked;
  const edited = open && app.session.edited;
  for (const id of ["auto-run", "style-run", "reference-run", "reset-sliders", "preset-input", "after-input", "before-input"]) {
    $(id).disabled = !open;
  }
  $("photo-input").disabled = app.locked;
  for (const input of document.querySelectorAll("#sliders input")) input.disabled = !open;
  for (const button of document.querySelectorAll("[data-download]")) button.disabled = !edited;
}

// ------------------------------------------------------------------ images

// Shows the image at `url`; `data-source` says which one is on screen once it is decoded.
async function showImage(image, url) {
  const blob = await (await request(url)).blob();
  const previous = image.src;
  image.src = URL.createObjectURL(blob);
  await image.decode().catch(() => undefined);
  image.dataset.source = url;
  if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
}

// ------------------------------------------------------------------ session state

async function applyState(state, { keepSliders = false } = {}) {
  const opened = app.session === null || app.session.session !== state.session;
  app.session = state;
  if (!keepSliders) setSliders(state.values);
  $("photo-name").textContent = `${state.name} — ${state.width} × ${state.height}`;
  showExplanation(state);
  showSlidersNote(state);
  drawCurves(state.curves);
  if (opened) await showImage($("before-image"), state.original);
  await showImage($("after-image"), state.preview);
  $("dropzone").hidden = true;
  $("compare").hidden = false;
  refreshControls();
}

function showExplanation(state) {
  const box = $("explanation");
  box.replaceChildren();
  $("explanation-panel").hidden = !state.explanation;
  if (!state.explanation) return;
  $("explanation-note").textContent = state.adjusted
    ? "You have moved sliders since: this explains the model's edit."
    : state.understood || `Why the ${state.mode} edit looks as it does.`;
  for (const aspect of app.config.aspects) {
    const text = state.explanation[aspect.name];
    if (!text) continue;
    const section = document.createElement("section");
    section.className = "aspect";
    section.dataset.aspect = aspect.name;
    const title = document.createElement("h3");
    title.textContent = aspect.label;
    section.append(title, paragraph("Problem", text.problem), paragraph("Plan", text.plan));
    box.append(section);
  }
}

function paragraph(heading, text) {
  const p = document.createElement("p");
  const strong = document.createElement("strong");
  strong.textContent = `${heading}: `;
  p.append(strong, document.createTextNode(text));
  return p;
}

function showSlidersNote(state) {
  const notes = {
    auto: "The planner's edit as sliders: move any to adjust it (the preview then renders the sliders).",
    style: "The planner's edit as sliders: move any to adjust it (the preview then renders the sliders).",
    reference: "Sliders fitted to the example's edit (approximate): move any to adjust it.",
    param: "Your sliders.",
  };
  let note = state.mode ? notes[state.mode] : "Move any slider to start in param mode, or choose a mode above.";
  if (state.adjusted) note = `Adjusted from the ${state.mode} edit.`;
  if (state.unmodelled.length) note += ` Not modelled, ignored: ${state.unmodelled.join(", ")}.`;
  $("sliders-note").textContent = note;
}

// ------------------------------------------------------------------ sliders

function buildSliders() {
  const box = $("sliders");
  for (const aspect of app.config.aspects) {
    const details = document.createElement("details");
    details.open = aspect.name === "lighting";
    details.dataset.aspect = aspect.name;
    const summary = document.createElement("summary");
    summary.textContent = aspect.label;
    details.append(summary);
    const specs = app.config.sliders.filter((spec) => spec.aspect === aspect.name);
    for (const [core, heading] of [[true, null], [false, "Beyond the 38 sliders: grading, monochrome and B&W mix, calibration, effects"]]) {
      const part = specs.filter((spec) => spec.core === core);
      if (!part.length) continue;
      if (heading) {
        const h4 = document.createElement("h4");
        h4.textContent = heading;
        details.append(h4);
      }
      for (const spec of part) details.append(sliderRow(spec));
    }
    box.append(details);
  }
}

function sliderRow(spec) {
  const row = document.createElement("div");
  row.className = "slider";
  const label = document.createElement("label");
  label.htmlFor = `slider-${spec.name}`;
  label.textContent = spec.label;
  label.title = `${spec.name}: ${spec.description}`;
  const input = document.createElement("input");
  Object.assign(input, { type: "range", id: `slider-${spec.name}`, min: spec.minimum, max: spec.maximum,
                         step: spec.step, value: spec.default, disabled: true });
  input.dataset.name = spec.name;
  input.title = "Double-click to reset";
  const output = document.createElement("output");
  output.htmlFor = input.id;
  output.textContent = format(spec.default, spec);
  input.addEventListener("input", () => moveSlider(spec, Number(input.value)));
  input.addEventListener("dblclick", () => { input.value = spec.default; moveSlider(spec, spec.default); });
  row.append(label, input, output);
  return row;
}

function format(value, spec) {
  const digits = spec.step < 1 || !Number.isInteger(value) ? 2 : 0;
  return `${value > 0 && spec.minimum < 0 ? "+" : ""}${Number(value).toFixed(digits)}${spec.unit === "EV" ? " EV" : ""}`;
}

function setSliders(values) {
  app.values = { ...values };
  for (const spec of app.config.sliders) {
    const input = $(`slider-${spec.name}`);
    input.value = values[spec.name];
    input.nextElementSibling.textContent = format(values[spec.name], spec);
  }
}

function moveSlider(spec, value) {
  app.values[spec.name] = value;
  $(`slider-${spec.name}`).nextElementSibling.textContent = format(value, spec);
  requestPreview();
}

// Slider moves are coalesced: one render in flight, then one more with the latest values.
// `keepCurves` is false from a reset until the reset has been rendered.
let previewRunning = false;
let previewPending = false;
let keepCurves = true;

async function requestPreview() {
  previewPending = true;
  if (previewRunning || !app.session) return;
  previewRunning = true;
  while (previewPending) {
    previewPending = false;
    await withProgress("Rendering the preview…", async () => {
      const sent = keepCurves;
      const state = await postJSON(`/api/sessions/${app.session.session}/sliders`,
                                   { values: app.values, keep_curves: sent });
      if (!sent) keepCurves = true;
      await applyState(state, { keepSliders: true });
    }, { lock: false });
  }
  previewRunning = false;
}

function drawCurves(curves) {
  const plot = $("curves-plot");
  plot.replaceChildren();
  const names = Object.keys(curves);
  $("curves").hidden = names.length === 0;
  const colours = { ToneCurvePV2012: "#ddd", ToneCurvePV2012Red: "#f55", ToneCurvePV2012Green: "#5d5", ToneCurvePV2012Blue: "#58f" };
  const diagonal = document.createElementNS("http://www.w3.org/2000/svg", "line");
  Object.entries({ x1: 0, y1: 255, x2: 255, y2: 0, class: "diagonal" }).forEach(([k, v]) => diagonal.setAttribute(k, v));
  plot.append(diagonal);
  for (const name of names) {
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", curves[name].map(([x, y]) => `${x},${255 - y}`).join(" "));
    line.setAttribute("stroke", colours[name]);
    plot.append(line);
  }
}

// ------------------------------------------------------------------ actions

function checkSize(file, limit, what) {
  if (file.size > limit) {
    showMessage(`${file.name}: ${what} is ${(file.size / 1048576).toFixed(1)} MB, over the server's limit of ` +
                `${(limit / 1048576).toFixed(0)} MB; use a smaller file or restart the server with a larger --max-upload-mb`);
    return false;
  }
  return true;
}

async function openPhoto(file) {
  if (!file || !checkSize(file, app.config.limits.max_upload_bytes, "the photo")) return;
  const form = new FormData();
  form.append("photo", file);
  await withProgress("Opening the photo…", async () => applyState(await postForm("/api/photos", form)));
}

function chosenAspects() {
  return [...document.querySelectorAll("#aspects input:checked")].map((box) => box.value);
}

function retouch(label, path, body) {
  return withProgress(label, async () => applyState(await postJSON(`/api/sessions/${app.session.session}/${path}`, body)));
}

async function loadPreset(file) {
  if (!file || !checkSize(file, app.config.limits.max_preset_bytes, "the preset")) return;
  const form = new FormData();
  form.append("preset", file);
  await withProgress("Loading the preset…", async () =>
    applyState(await postForm(`/api/sessions/${app.session.session}/preset`, form)));
}

async function retouchLikeReference() {
  const after = $("after-input").files[0];
  const before = $("before-input").files[0];
  if (!after) {
    showMessage("choose the “after” example first (drop it on the After box, or click it)");
    return;
  }
  const limit = app.config.limits.max_upload_bytes;
  if ((after.size + (before ? before.size : 0)) > limit) {
    checkSize({ name: "after + before", size: after.size + (before ? before.size : 0) }, limit, "the example");
    return;
  }
  const form = new FormData();
  form.append("after", after);
  if (before) form.append("before", before);
  form.append("aspects", chosenAspects().join(","));
  await withProgress("Reading the example and fitting sliders…", async () =>
    applyState(await postForm(`/api/sessions/${app.session.session}/reference`, form)));
}

async function download(kind) {
  const labels = { image: "Rendering the full-resolution image…", xmp: "Writing the preset…",
                   cube: "Baking the LUT…", plan: "Writing the plan…" };
  await withProgress(labels[kind], async () => {
    const response = await request(`/api/sessions/${app.session.session}/download/${kind}`);
    const disposition = response.headers.get("content-disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [null, `veraretouch-${kind}`])[1];
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  });
}

function chooseMode(mode) {
  app.mode = mode;
  for (const tab of document.querySelectorAll("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.mode === mode));
  for (const panel of document.querySelectorAll(".mode-panel")) panel.hidden = panel.dataset.panel !== mode;
  $("aspects").hidden = mode === "param";
}

function acceptDrops(target, onFile) {
  target.addEventListener("dragover", (event) => { event.preventDefault(); target.classList.add("dragging"); });
  target.addEventListener("dragleave", () => target.classList.remove("dragging"));
  target.addEventListener("drop", (event) => {
    event.preventDefault();
    target.classList.remove("dragging");
    if (!app.locked && event.dataTransfer.files.length) onFile(event.dataTransfer.files);
  });
}

function referenceFile(input, nameId) {
  return (files) => {
    const transfer = new DataTransfer();
    transfer.items.add(files[0]);
    input.files = transfer.files;
    $(nameId).textContent = files[0].name;
  };
}

async function start() {
  try {
    app.config = await (await request("/api/config")).json();
  } catch (error) {
    showMessage(`cannot reach the veraretouch server (${error.message}); is \`veraretouch serve\` running?`);
    return;
  }
  buildSliders();
  $("photo-input").addEventListener("change", (event) => { openPhoto(event.target.files[0]); event.target.value = ""; });
  acceptDrops($("viewer"), (files) => openPhoto(files[0]));
  $("split").addEventListener("input", (event) => $("compare").style.setProperty("--split", `${event.target.value}%`));
  for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => chooseMode(tab.dataset.mode));
  $("auto-run").addEventListener("click", () => retouch("Retouching (auto)…", "auto", { aspects: chosenAspects() }));
  $("style-run").addEventListener("click", () =>
    retouch("Retouching (style)…", "style", { prompt: $("style-prompt").value, aspects: chosenAspects() }));
  $("reset-sliders").addEventListener("click", () => {
    setSliders(Object.fromEntries(app.config.sliders.map((spec) => [spec.name, spec.default])));
    keepCurves = false;
    requestPreview();
  });
  $("preset-input").addEventListener("change", (event) => { loadPreset(event.target.files[0]); event.target.value = ""; });
  for (const [input, name] of [["after-input", "after-name"], ["before-input", "before-name"]]) {
    $(input).addEventListener("change", () => { $(name).textContent = $(input).files[0]?.name || "drop or choose"; });
    acceptDrops(document.querySelector(`label[for=${input}]`), referenceFile($(input), name));
  }
  $("reference-run").addEventListener("click", retouchLikeReference);
  for (const button of document.querySelectorAll("[data-download]")) {
    button.addEventListener("click", () => download(button.dataset.download));
  }
  chooseMode("auto");
  refreshControls();
}

document.addEventListener("DOMContentLoaded", start);
