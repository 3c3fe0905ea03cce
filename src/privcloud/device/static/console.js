// privcloud device console: vanilla JavaScript, no build step, nothing loaded from the network.
// Every text from the agent or the user is put into the page with textContent, never as HTML.
"use strict";

const CONSOLE_HEADER = { "X-Privcloud-Console": "1" };
const FEATURE_TITLES = {
  transcribe: "Transcript",
  translate: "Translation",
  summarize: "Summary",
  extract: "Events, reminders and contacts",
  search: "Search results",
  generate_image: "Image",
  chat: "Chat",
};

const state = {
  audio: null, // {blob, name}
  features: [],
  busy: false,
  lastRequest: null,
  searchItems: [],
  recorder: null,
};

// --- small DOM helpers ------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

function facts(dl, pairs) {
  clear(dl);
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    dl.append(el("dt", { text: term }), el("dd", {}, value));
  }
}

function short(hex, n = 16) {
  return hex && hex.length > n ? hex.slice(0, n) + "…" : hex || "";
}

function bytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function plural(n, word, many = `${word}s`) {
  return `${n} ${n === 1 ? word : many}`;
}

function ms(value) {
  if (value === null || value === undefined) return "";
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

async function getJSON(path) {
  const resp = await fetch(path, { cache: "no-store" });
  const doc = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(doc.message || `HTTP ${resp.status}`);
  return doc;
}

// --- tabs and status --------------------------------------------------------------------

function showTab(button) {
  for (const tab of document.querySelectorAll(".tab")) {
    const active = tab === button;
    tab.classList.toggle("active", active);
    $(tab.dataset.panel).hidden = !active;
  }
  if (button.id === "tab-nodes") loadNodes();
  if (button.id === "tab-log") loadLog();
}

async function loadStatus() {
  try {
    const s = await getJSON("/api/status");
    state.features = s.features;
    const parts = [
      `${s.nodes.admitted} nodes admitted`,
      s.tokens === null ? null : `${s.tokens} tokens in the wallet`,
      s.device_attested === null ? null : s.device_attested
        ? "device attested (Android hardware key)"
        : "device not attested (insecure operator code, development cloud)",
      `sealed to k = ${s.k}`,
      s.device_address ? `device address ${s.device_address}` : "device on the default address",
    ];
    $("status").textContent = parts.filter(Boolean).join(" · ");
    $("status").dataset.ready = "1";
    $("insecure-badge").hidden = !s.insecure;
    $("card-imagine").hidden = !s.features.includes("generate_image");
    updateButtons();
    updateChatButtons();
  } catch (err) {
    // Starting (models load first) or stopped: say so, and ask again in a moment.
    $("status").textContent = `the device agent is not ready (${err.message}); retrying…`;
    setTimeout(loadStatus, 2000);
  }
}

function served(feature) {
  return state.features.includes(feature);
}

function updateButtons() {
  const text = $("text-input").value.trim();
  const ready = {
    transcribe: state.audio !== null,
    translate: state.audio !== null,
    summarize: text.length > 0,
    extract: text.length > 0,
    search: $("search-items").value.trim() !== "" && $("search-query").value.trim() !== "",
    generate_image: $("imagine-prompt").value.trim() !== "",
  };
  for (const button of document.querySelectorAll("button.run")) {
    const feature = button.dataset.feature;
    button.disabled = state.busy || !served(feature) || !ready[feature];
    button.title = served(feature) ? "" : "not served by the admitted nodes";
  }
}

// --- audio: upload or record --------------------------------------------------------------

function setAudio(blob, name) {
  state.audio = { blob, name };
  const player = $("audio-player");
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(blob);
  player.hidden = false;
  $("audio-info").textContent = `${name} · ${bytes(blob.size)} · ${blob.type || "audio"}`;
  $("audio-info").dataset.ready = "1";
  updateButtons();
}

async function toggleRecording() {
  const button = $("record-btn");
  if (state.recorder && state.recorder.state === "recording") {
    state.recorder.stop();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    $("audio-info").textContent = "The microphone is not available to this page.";
    return;
  }
  const types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"];
  const mimeType = types.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t));
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  const chunks = [];
  const started = Date.now();
  const timer = setInterval(() => {
    $("record-time").textContent = `${((Date.now() - started) / 1000).toFixed(0)} s`;
  }, 250);
  recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  recorder.onstop = () => {
    clearInterval(timer);
    stream.getTracks().forEach((t) => t.stop());
    button.textContent = "● Record";
    $("record-time").textContent = "";
    const type = (recorder.mimeType || "audio/webm").split(";")[0];
    const ext = type.includes("ogg") ? "ogg" : "webm";
    setAudio(new Blob(chunks, { type }), `recording.${ext}`);
  };
  state.recorder = recorder;
  recorder.start(250);
  button.textContent = "■ Stop";
}

// --- running a feature and reading its stream ----------------------------------------------

function localReferenceTime() {
  // The device's clock, with its UTC offset: "tomorrow at 3" means the user's tomorrow.
  const now = new Date();
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  const offset = -now.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}` +
    `T${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}` +
    `${sign}${pad(offset / 60)}:${pad(offset % 60)}`
  );
}

function searchItems() {
  return $("search-items")
    .value.split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((text, i) => ({ id: String(i + 1), text }));
}

function requestFor(feature) {
  const text = $("text-input").value;
  switch (feature) {
    case "transcribe":
      return { body: state.audio.blob, params: { language: $("transcribe-language").value } };
    case "translate":
      return {
        body: state.audio.blob,
        params: { mode: "speech", target_language: $("translate-target").value },
      };
    case "summarize":
      return {
        body: text,
        params: { kind: $("summary-kind").value, guard: $("summary-guard").value },
      };
    case "extract":
      return { body: text, params: { reference_time: localReferenceTime() } };
    case "search": {
      state.searchItems = searchItems();
      const query = $("search-query").value.trim();
      return { body: JSON.stringify({ query, items: state.searchItems, top_k: 5 }), params: {} };
    }
    case "generate_image":
      return { body: "", params: { prompt: $("imagine-prompt").value.trim(), steps: 20 } };
    default:
      return { body: "", params: {} };
  }
}

function setOutputState(name, label) {
  const badge = $("output-status");
  badge.dataset.state = name;
  badge.textContent = label || name;
}

async function run(feature) {
  if (state.busy) return;
  const { body, params } = requestFor(feature);
  const view = makeView(feature);
  state.busy = true;
  updateButtons();
  $("output-title").textContent = FEATURE_TITLES[feature] || feature;
  setOutputState("running", "running");
  $("output-progress").textContent = "sealing the request and sending it through the relay…";
  clear($("output-body"), view.root);
  $("request-info").hidden = true;
  $("inspect-btn").disabled = true;
  const url = `/api/run/${encodeURIComponent(feature)}?params=${encodeURIComponent(
    JSON.stringify(params),
  )}`;
  try {
    const resp = await fetch(url, { method: "POST", body, headers: CONSOLE_HEADER });
    if (!resp.ok) {
      const doc = await resp.json().catch(() => ({}));
      showError(doc.error || `HTTP ${resp.status}`, doc.message || "the request failed");
      if (doc.request_id) await showRequest(doc.request_id);
      return;
    }
    await readLines(resp, (line) => handleLine(line, view));
  } catch (err) {
    showError("network", "the device agent did not answer");
  } finally {
    state.busy = false;
    updateButtons();
    loadStatus();
    loadHistory();
  }
}

async function readLines(resp, onLine) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 1);
      if (line.trim()) onLine(JSON.parse(line));
    }
  }
  if (buffer.trim()) onLine(JSON.parse(buffer));
}

function handleLine(line, view) {
  switch (line.type) {
    case "request":
      state.lastRequest = line.id;
      $("output-progress").textContent =
        `sealed to ${line.chosen.join(", ")} (k = ${line.k}, ${protectionText(line.protection)}); the answer is streaming`;
      break;
    case "partial":
      view.partial(line.meta, line.text);
      break;
    case "result":
      $("output-progress").textContent = "";
      view.result(line.meta, line.text, line.data_base64);
      break;
    case "error":
      showError(line.error, line.message);
      break;
    case "end":
      if (line.status === "ok") setOutputState("done", "done");
      showRequest(line.id);
      break;
  }
}

// Which protection a request got, per layer (docs/adr/0014): hybrid post-quantum
// (ML-KEM-768 + X25519) or classical (X25519 only: open to "record now, decrypt later").
function protectionText(p) {
  if (!p || !p.ohttp) return "protection unknown";
  const name = (v) => (v === "hybrid" ? "post-quantum hybrid (ML-KEM-768 + X25519)" : "classical (X25519)");
  return p.ohttp === p.envelope
    ? name(p.ohttp)
    : `OHTTP ${name(p.ohttp)}, envelope ${name(p.envelope)}`;
}

function showError(code, message) {
  setOutputState("error", "error");
  $("output-progress").textContent = "";
  $("output-body").append(el("p", { class: "error-box", id: "output-error" }, `${code}: ${message}`));
}

async function showRequest(id) {
  state.lastRequest = id;
  let rec;
  try {
    rec = await getJSON(`/api/requests/${encodeURIComponent(id)}`);
  } catch (err) {
    return;
  }
  facts($("request-facts"), [
    ["request", el("span", { class: "mono", text: rec.id })],
    ["route", `${rec.route.placement}: ${rec.route.reason}`],
    ["sealed to", rec.chosen.length ? `${rec.chosen.join(", ")} (k = ${rec.k})` : "—"],
    ["protection", protectionText(rec.protection)],
    ["ran on", rec.ran_on || "—"],
    ["token", rec.token || "—"],
    ["time", `${ms(rec.timings.total_ms)} (first event after ${ms(rec.timings.first_event_ms)})`],
  ]);
  $("request-info").hidden = false;
  $("inspect-btn").disabled = false;
  $("inspect-btn").dataset.id = rec.id;
}

// --- views of each feature's answer -------------------------------------------------------

function makeView(feature) {
  const root = el("div", { class: "answer", dataset: { feature } });
  const generic = {
    root,
    partial(meta, text) {
      $("output-progress").textContent = text || JSON.stringify(meta);
    },
    result(meta, text) {
      root.append(el("pre", { class: "note", id: "result-json" }, text || JSON.stringify(meta, null, 2)));
    },
  };
  if (feature === "transcribe" || feature === "translate") return speechView(root, feature);
  if (feature === "summarize") return summaryView(root);
  if (feature === "extract") return extractView(root);
  if (feature === "search") return searchView(root);
  if (feature === "generate_image") return imageView(root);
  return generic;
}

function speechView(root, feature) {
  const list = el("ol", { class: "segments", id: "transcript" });
  const final = el("p", { class: "answer-text", id: "transcript-text" });
  root.append(list, final);
  return {
    root,
    partial(meta) {
      if (typeof meta.text !== "string") {
        $("output-progress").textContent = meta.stage || "working…";
        return;
      }
      const at = typeof meta.start === "number" ? `${meta.start.toFixed(1)}–${meta.end.toFixed(1)} s` : `#${meta.index + 1}`;
      list.append(el("li", { class: "segment" }, el("span", { class: "ts", text: at }), el("span", { text: meta.text.trim() })));
    },
    result(meta, text) {
      const answer = (meta.text || text || "").trim();
      final.textContent = answer || "(no speech found)";
      const bits = [
        meta.language ? `language ${meta.language}` : null,
        meta.duration ? `${meta.duration.toFixed(1)} s of audio` : null,
        meta.model ? `model ${meta.model}` : null,
        meta.truncated ? "the file broke off early" : null,
      ];
      root.append(el("p", { class: "muted" }, bits.filter(Boolean).join(" · ")));
      if (meta.steps) {
        root.append(el("p", { class: "muted" }, meta.steps.map((s) => `${s.task}: ${s.model}`).join(" → ")));
      }
      if (answer) {
        $("text-input").value = answer;
        updateButtons();
      }
    },
  };
}

function summaryView(root) {
  const summary = el("p", { class: "summary", id: "summary" });
  const report = el("div", { class: "grounding", id: "grounding" });
  root.append(summary, report);
  return {
    root,
    partial(meta) {
      if (meta.stage === "generating") $("output-progress").textContent = `the model is writing… ${meta.tokens} tokens`;
      else if (meta.stage === "checking") $("output-progress").textContent = "the hallucination guard is checking every sentence against the transcript…";
    },
    result(meta, text) {
      summary.textContent = meta.summary || text || "(nothing could be summarised)";
      const g = meta.grounding || {};
      const fallback = meta.fallback ? ` · fallback: ${meta.fallback} summary (source sentences)` : "";
      report.append(
        el("h3", {}, "Hallucination guard",
          el("span", { class: "badge ok", id: "grounding-kept" }, `kept ${g.kept ?? "?"}`),
          el("span", { class: "badge bad", id: "grounding-dropped" }, `dropped ${g.dropped ?? "?"}`)),
        el("p", { class: "muted" }, `The model wrote ${plural((g.sentences || []).length, "sentence")}; each must have its facts in the source and be close to a source passage (mode: ${g.mode})${fallback}.`),
      );
      const list = el("ol", { class: "sentences", id: "grounding-sentences" });
      for (const s of g.sentences || []) {
        const scores = `similarity ${s.similarity} · word overlap ${s.overlap}`;
        const verdict = sentenceVerdict(s);
        list.append(
          el("li", { class: s.kept ? "kept" : "dropped", dataset: { verdict: verdict.name } },
            el("span", { class: `badge ${verdict.badge}` }, verdict.name),
            " ", s.text,
            verdict.why ? el("div", { class: "reasons" }, verdict.why) : null,
            el("div", { class: "scores" }, scores)),
        );
      }
      report.append(list);
      for (const note of g.notes || []) report.append(el("p", { class: "muted" }, note));
      if (g.checked && g.checked.length) {
        report.append(el("details", {}, el("summary", {}, "What the guard checks"), el("ul", {}, g.checked.map((c) => el("li", {}, c)))));
      }
      root.append(el("p", { class: "muted" }, `${meta.model} · ${meta.tokens} tokens · ${meta.seconds} s on the node`));
    },
  };
}

// One sentence of the guard's report: shown (grounded, or unverified in "mark" mode) or
// dropped, whatever its checks said: a sentence the summary left out after it passed the
// guard (a repeat, a question or fragment, past max_sentences) is dropped too, and the
// report's notes say why. A kept sentence the guard edited says how.
function sentenceVerdict(s) {
  const reasons = (s.reasons || []).join("; ");
  if (!s.kept) {
    const why = reasons || (s.grounded ? "grounded, but left out of the summary (see the notes below)" : "");
    return { name: "dropped", badge: "bad", why };
  }
  if (!s.grounded) return { name: "unverified", badge: "warn", why: reasons };
  // Grounded after an edit the report lists (a wrong owner taken out: "her trip" -> "the trip").
  const edits = (s.edits || []).join("; ");
  return { name: "grounded", badge: "ok", why: edits ? `edited: ${edits}` : "" };
}

function extractView(root) {
  return {
    root,
    partial() {},
    result(meta) {
      const kinds = ["events", "reminders", "alarms", "contacts"];
      let found = 0;
      for (const kind of kinds) {
        const items = meta[kind] || [];
        if (!items.length) continue;
        found += items.length;
        const table = el("table", { class: "items", id: `extract-${kind}` });
        for (const item of items) {
          const fields = Object.entries(item).filter(([k]) => k !== "source" && k !== "derived");
          table.append(
            el("tr", {},
              el("td", {}, fields.map(([k, v]) => el("div", {}, el("strong", {}, `${k}: `), typeof v === "object" ? JSON.stringify(v) : String(v)))),
              el("td", { class: "quote" }, item.source ? `“${item.source.text}”` : "")),
          );
        }
        root.append(el("h3", {}, kind[0].toUpperCase() + kind.slice(1)), table);
      }
      if (!found) root.append(el("p", { class: "muted" }, "Nothing found."));
      root.append(el("p", { class: "muted" }, `Every value is grounded in the text (method: ${meta.method}; relative dates resolved against ${meta.reference_time}).`));
    },
  };
}

function searchView(root) {
  return {
    root,
    partial() {},
    result(meta) {
      const list = el("ol", { class: "segments", id: "search-results" });
      const texts = Object.fromEntries(state.searchItems.map((i) => [i.id, i.text]));
      for (const hit of meta.results || []) {
        list.append(el("li", { class: "segment" }, el("span", { class: "ts" }, hit.score.toFixed(3)), el("span", {}, texts[hit.id] || `item ${hit.id}`)));
      }
      if (!(meta.results || []).length) list.append(el("li", { class: "muted" }, "No results."));
      root.append(list, el("p", { class: "muted" }, `${meta.items} items, ${meta.passages} passages · ${meta.model}`));
    },
  };
}

function imageView(root) {
  return {
    root,
    partial(meta) {
      if (meta.step) $("output-progress").textContent = `denoising step ${meta.step} of ${meta.steps}`;
    },
    result(meta, text, data) {
      if (data) root.append(el("img", { class: "image-result", id: "image-result", alt: "generated image", src: `data:image/png;base64,${data}` }));
      root.append(el("p", { class: "muted" }, `${meta.width}×${meta.height} · seed ${meta.seed} · ${meta.steps} steps · ${meta.model}`));
    },
  };
}

// --- the inspector ------------------------------------------------------------------------

const ROLE_TITLES = { relay: "Relay", gateway: "Gateway", node: "Node", issuer: "Token issuer" };

async function openInspector(id) {
  let rec;
  try {
    rec = await getJSON(`/api/requests/${encodeURIComponent(id)}`);
  } catch (err) {
    return;
  }
  $("inspector").hidden = false;
  $("inspector-id").textContent = `request ${rec.id}`;
  const hops = ["your device", "relay", "gateway", rec.ran_on || "node"];
  clear($("inspector-path"), hops.map((h) => el("li", {}, h)));
  facts($("inspector-summary"), [
    ["feature", rec.feature],
    ["status", rec.error ? `${rec.status}: ${rec.error.error}` : rec.status],
    ["parameters sent", rec.param_names.length ? rec.param_names.join(", ") : "none"],
    ["input", bytes(rec.sizes.input_bytes)],
    ["events streamed", String(rec.sizes.events)],
    ["time", ms(rec.timings.total_ms)],
  ]);
  const parties = clear($("inspector-parties"));
  for (const p of rec.parties) parties.append(partyCard(p));
  const bg = clear($("inspector-background-list"));
  if (!rec.background.length) bg.append(el("p", { class: "muted" }, "None."));
  else {
    const table = el("table", { class: "obs" }, el("tr", {}, ["party", "request", "from", "count", "what it is"].map((h) => el("th", {}, h))));
    for (const b of rec.background) {
      table.append(el("tr", {}, el("td", {}, b.party), el("td", { class: "mono" }, `${b.method} ${b.path}`), el("td", { class: "mono" }, b.peer), el("td", {}, String(b.count)), el("td", {}, b.label)));
    }
    bg.append(table);
  }
  $("inspector").scrollIntoView({ behavior: "smooth", block: "start" });
}

function partyCard(p) {
  const card = el("div", { class: `party${p.ran_request ? " ran" : ""}`, id: `party-${p.party}`, dataset: { role: p.role } });
  const title = p.role === "node" ? p.party : ROLE_TITLES[p.role] || p.party;
  card.append(
    el("h3", {}, title,
      p.role === "node" ? el("span", { class: "badge" }, "node") : null,
      p.ran_request ? el("span", { class: "badge ok" }, "ran it") : null),
    el("p", { class: "learns" }, el("span", { class: "label" }, "Learns: "), p.learns),
    el("p", { class: "cannot" }, el("span", { class: "label" }, "Cannot learn: "), p.cannot),
  );
  if (p.observed.length) {
    const table = el("table", { class: "obs" }, el("tr", {}, ["+ms", "from", "request", "body", "status"].map((h) => el("th", {}, h))));
    for (const o of p.observed) {
      table.append(el("tr", {}, el("td", {}, String(o.at_ms)), el("td", { class: "mono peer" }, o.peer), el("td", { class: "mono" }, `${o.method} ${o.path}`), el("td", {}, bytes(o.body_size)), el("td", {}, String(o.status))));
    }
    const headers = el("dl", { class: "facts" });
    facts(headers, Object.entries(p.observed[0].headers).map(([k, v]) => [k, el("span", { class: "mono" }, v)]));
    card.append(table, el("details", {}, el("summary", {}, "Header fields it received"), headers));
  } else {
    card.append(el("p", { class: "muted" }, "No record of this request."));
  }
  return card;
}

async function loadHistory() {
  let doc;
  try {
    doc = await getJSON("/api/requests");
  } catch (err) {
    return;
  }
  const list = clear($("history"));
  if (!doc.requests.length) list.append(el("li", { class: "muted" }, "None yet."));
  for (const r of doc.requests) {
    list.append(
      el("li", { class: "history-item", dataset: { id: r.id }, onclick: () => openInspector(r.id) },
        el("span", { class: "feature" }, r.feature),
        el("span", { class: `badge ${r.status === "ok" ? "ok" : r.status === "error" ? "bad" : "warn"}` }, r.error ? `${r.status}: ${r.error}` : r.status),
        el("span", { class: "mono muted" }, r.id),
        el("span", { class: "ms" }, ms(r.total_ms))),
    );
  }
}

// --- the Chat tab -------------------------------------------------------------------------

// The conversation lives in this page only: each turn sends it whole to the `chat` feature
// (messages, max_tokens, temperature) and the node keeps nothing between turns. It is cut
// from its oldest messages to stay within what one request may carry (the node's bounds are
// 64 messages and 32,000 characters: privcloud.limits.MAX_CHAT_*); the parameters travel as
// the body, because a conversation outgrows a URL.
const CHAT_MAX_MESSAGES = 40;
const CHAT_MAX_CHARS = 24000;
const PARAMS_BODY = "application/vnd.privcloud.params+json";
const chat = { messages: [], controller: null };

function chatHistory() {
  const kept = [];
  let chars = 0;
  for (let i = chat.messages.length - 1; i >= 0 && kept.length < CHAT_MAX_MESSAGES; i--) {
    chars += chat.messages[i].content.length;
    if (chars > CHAT_MAX_CHARS && kept.length) break;
    kept.unshift(chat.messages[i]);
  }
  return kept;
}

function chatBubble(role, text) {
  const log = $("chat-log");
  for (const empty of log.querySelectorAll(".chat-empty")) empty.remove();
  const bubble = el("li", { class: `message ${role}`, dataset: { role } }, el("span", { class: "text" }, text));
  log.append(bubble);
  log.scrollTop = log.scrollHeight;
  return bubble;
}

function setChatState(name) {
  $("chat-status").dataset.state = name;
  $("chat-status").textContent = name;
}

function updateChatButtons() {
  const busy = chat.controller !== null;
  $("chat-send").disabled = busy || !served("chat") || $("chat-input").value.trim() === "";
  $("chat-send").title = served("chat") ? "" : "not served by the admitted nodes";
  $("chat-stop").disabled = !busy;
}

function chatParams() {
  const number = (id, fallback) => {
    const value = Number($(id).value);
    return Number.isFinite(value) && $(id).value !== "" ? value : fallback;
  };
  return {
    messages: chatHistory(),
    max_tokens: Math.round(number("chat-max-tokens", 256)),
    temperature: number("chat-temperature", 0.7),
  };
}

async function sendChat() {
  const question = $("chat-input").value.trim();
  if (!question || chat.controller) return;
  chat.messages.push({ role: "user", content: question });
  chatBubble("user", question);
  $("chat-input").value = "";
  const bubble = chatBubble("assistant", "");
  const text = bubble.querySelector(".text");
  bubble.classList.add("streaming");
  const controller = new AbortController();
  chat.controller = controller;
  setChatState("running");
  updateChatButtons();
  $("chat-progress").textContent = "sealing the conversation and sending it through the relay…";
  let answer = "";
  let deltas = 0;
  let done = false;
  const fail = (message) => {
    bubble.classList.add("error");
    bubble.append(el("span", { class: "meta chat-error" }, message));
    setChatState("error");
  };
  try {
    const resp = await fetch("/api/run/chat", {
      method: "POST",
      body: JSON.stringify(chatParams()),
      headers: { ...CONSOLE_HEADER, "Content-Type": PARAMS_BODY },
      signal: controller.signal,
    });
    if (!resp.ok) {
      const doc = await resp.json().catch(() => ({}));
      fail(`${doc.error || `HTTP ${resp.status}`}: ${doc.message || "the request failed"}`);
      if (doc.request_id) showChatRequest(doc.request_id);
      return;
    }
    await readLines(resp, (line) => {
      switch (line.type) {
        case "request":
          $("chat-progress").textContent =
            `sealed to ${line.chosen.join(", ")} (k = ${line.k}, ${protectionText(line.protection)}); the answer is streaming`;
          break;
        case "partial":
          if (typeof line.meta.delta === "string") {
            answer += line.meta.delta;
            deltas += 1;
            bubble.dataset.deltas = String(deltas);
            text.textContent = answer;
            $("chat-log").scrollTop = $("chat-log").scrollHeight;
          }
          break;
        case "result": {
          const meta = line.meta || {};
          answer = typeof meta.text === "string" ? meta.text : line.text || answer;
          text.textContent = answer;
          const usage = meta.usage || {};
          const bits = [
            meta.model,
            usage.completion_tokens !== undefined ? plural(usage.completion_tokens, "token") : null,
            meta.finish_reason === "length" ? "cut at max tokens" : null,
            meta.dropped_messages ? `the node left out the ${plural(meta.dropped_messages, "oldest message")}` : null,
          ];
          bubble.append(el("span", { class: "meta" }, bits.filter(Boolean).join(" · ")));
          done = true;
          break;
        }
        case "error":
          fail(`${line.error}: ${line.message}`);
          break;
        case "end":
          showChatRequest(line.id);
          break;
      }
    });
  } catch (err) {
    if (err.name === "AbortError") {
      bubble.append(el("span", { class: "meta" }, "stopped"));
      setChatState("stopped");
    } else {
      fail("network: the device agent did not answer");
    }
  } finally {
    bubble.classList.remove("streaming");
    $("chat-progress").textContent = "";
    if (done) {
      chat.messages.push({ role: "assistant", content: answer });
      setChatState("done");
    } else if (answer) {
      chat.messages.push({ role: "assistant", content: answer }); // what arrived before Stop
    } else {
      chat.messages.pop(); // nothing came back: the question is not part of the conversation
      bubble.previousElementSibling?.classList.add("unsent");
    }
    chat.controller = null;
    updateChatButtons();
    loadHistory();
    loadStatus();
  }
}

async function showChatRequest(id) {
  let rec;
  try {
    rec = await getJSON(`/api/requests/${encodeURIComponent(id)}`);
  } catch (err) {
    return;
  }
  facts($("chat-facts"), [
    ["request", el("span", { class: "mono", id: "chat-request-id" }, rec.id)],
    ["sealed to", rec.chosen.length ? `${rec.chosen.join(", ")} (k = ${rec.k})` : "—"],
    ["protection", protectionText(rec.protection)],
    ["ran on", rec.ran_on || "—"],
    ["token", rec.token || "—"],
    ["sent", `${plural(rec.param_names.length, "parameter")} (${rec.param_names.join(", ")}), names only in this record`],
    ["time", `${ms(rec.timings.total_ms)} (first event after ${ms(rec.timings.first_event_ms)})`],
  ]);
}

function newChat() {
  if (chat.controller) chat.controller.abort();
  chat.messages = [];
  clear($("chat-log"), el("li", { class: "muted chat-empty" }, "No messages yet."));
  setChatState("idle");
  updateChatButtons();
}

// --- the Live tab -------------------------------------------------------------------------
// The microphone (getUserMedia) -> an AudioWorklet that downsamples it to 16 kHz s16le mono
// (live-worklet.js) -> the device agent over a loopback WebSocket (/api/live), which runs the
// live call through the private path and streams back captions, translations (JSON) and
// speech (binary: one byte of channel, then 16 kHz s16le PCM), played in order.

const LIVE_CHUNK = 1600; // samples per message: 0.1 s (the agent takes at most 0.5 s)
const live = { ws: null, stream: null, ctx: null, worklet: null, started: false, playAt: 0, speechS: 0, sent: 0 };

function setLiveState(name, label) {
  const badge = $("live-status");
  badge.dataset.state = name;
  badge.textContent = label || name;
  const running = live.ws !== null;
  $("live-start").disabled = running;
  $("live-stop").disabled = !running || name === "ending";
  $("live-spoken").disabled = running;
  $("live-target").disabled = running;
}

function liveError(code, message) {
  const box = $("live-error");
  box.textContent = `${code}: ${message}`;
  box.hidden = false;
}

function liveLine(listId, text, startS, cls) {
  const list = $(listId);
  const when = Number.isFinite(startS) ? el("span", { class: "when" }, `${startS.toFixed(1)}s`) : null;
  list.append(el("li", { class: cls }, when, text));
  list.scrollTop = list.scrollHeight;
}

function liveFacts(pairs) {
  facts($("live-facts"), pairs);
}

function releaseMicrophone() {
  if (live.worklet) {
    live.worklet.port.onmessage = null;
    live.worklet.disconnect();
    live.worklet = null;
  }
  if (live.stream) {
    for (const track of live.stream.getTracks()) track.stop();
    live.stream = null;
  }
}

function playSpeech(buffer) {
  const channel = new DataView(buffer).getUint8(0);
  const pcm = new Int16Array(buffer.slice(1));
  if (!pcm.length) return;
  live.speechS += pcm.length / 16000;
  $("live-speech").textContent = `Speech: ${live.speechS.toFixed(1)} s received (last on channel ${channel}).`;
  $("live-speech").dataset.seconds = live.speechS.toFixed(2);
  if (!$("live-play").checked || !live.ctx) return;
  const ctx = live.ctx;
  const audio = ctx.createBuffer(1, pcm.length, 16000);
  const data = audio.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
  const source = ctx.createBufferSource();
  source.buffer = audio;
  source.connect(ctx.destination);
  const at = Math.max(ctx.currentTime, live.playAt);
  source.start(at);
  live.playAt = at + audio.duration;
}

function liveMessage(data) {
  if (data instanceof ArrayBuffer) {
    playSpeech(data);
    return;
  }
  const msg = JSON.parse(data);
  switch (msg.type) {
    case "started":
      live.started = true;
      setLiveState("live", "live");
      liveFacts([["session", "open: sealed frames every 40 ms"], ["node", msg.node], ["spoken", $("live-spoken").value], ["into", $("live-target").value]]);
      break;
    case "caption":
      liveLine(`live-captions-${msg.channel}`, msg.text, msg.start_s, "caption");
      break;
    case "translation":
      liveLine(`live-translations-${msg.channel}`, msg.text, msg.start_s, "translation");
      break;
    case "notice":
      liveLine(`live-captions-${msg.channel}`, `(${msg.text})`, undefined, "notice");
      break;
    case "ended":
      setLiveState("done", `ended (${msg.reason || "closed"})`);
      break;
    case "error":
      liveError(msg.error, msg.message);
      setLiveState("error", "error");
      break;
    default:
      break;
  }
}

function liveClosed(event) {
  releaseMicrophone();
  live.ws = null;
  live.started = false;
  const badge = $("live-status");
  if (badge.dataset.state !== "error" && badge.dataset.state !== "done") {
    if (event.code >= 4000) {
      liveError(event.reason || "refused", "the device agent ended the call");
      setLiveState("error", "error");
    } else {
      setLiveState("done", "ended");
    }
  } else {
    setLiveState(badge.dataset.state, badge.textContent);
  }
}

async function startLive() {
  if (live.ws) return;
  $("live-error").hidden = true;
  for (const c of [0, 1]) {
    clear($(`live-captions-${c}`));
    clear($(`live-translations-${c}`));
  }
  live.speechS = 0;
  live.sent = 0;
  $("live-speech").textContent = "Speech: none yet.";
  delete $("live-speech").dataset.seconds;
  setLiveState("starting", "opening the microphone");
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    });
    if (!live.ctx) live.ctx = new AudioContext();
    await live.ctx.resume();
    await live.ctx.audioWorklet.addModule("/static/live-worklet.js");
    const source = live.ctx.createMediaStreamSource(live.stream);
    live.worklet = new AudioWorkletNode(live.ctx, "pcm16k", { processorOptions: { chunk: LIVE_CHUNK } });
    const mute = live.ctx.createGain();
    mute.gain.value = 0; // the worklet must be pulled by the graph, but the mic is not played
    source.connect(live.worklet).connect(mute).connect(live.ctx.destination);
  } catch (err) {
    releaseMicrophone();
    liveError("microphone", err.message || "the microphone is not available");
    setLiveState("error", "error");
    return;
  }
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/live`);
  ws.binaryType = "arraybuffer";
  live.ws = ws;
  live.playAt = 0;
  setLiveState("starting", "opening a private session");
  ws.onopen = () => ws.send(JSON.stringify({ type: "start", language: $("live-spoken").value, target: $("live-target").value }));
  ws.onmessage = (e) => liveMessage(e.data);
  ws.onclose = liveClosed;
  live.worklet.port.onmessage = (e) => {
    // Audio before the session opened is not sent: the agent counts audio from its start.
    if (live.started && ws.readyState === WebSocket.OPEN) {
      ws.send(e.data);
      live.sent += e.data.byteLength;
    }
  };
}

function stopLive() {
  if (!live.ws) return;
  releaseMicrophone();
  if (live.ws.readyState === WebSocket.OPEN && live.started) {
    live.ws.send(JSON.stringify({ type: "stop" }));
    setLiveState("ending", "finishing: the node translates what is left");
  } else {
    live.ws.close();
  }
}

// --- the Nodes tab ------------------------------------------------------------------------

// The vendor's TCB status (e.g. Intel TCB Info), with its advisories; any evidence type.
function tcbStatus(a) {
  if (a.tcb_status == null) return el("span", { class: "muted" }, "not derived (no vendor collateral)");
  const ok = a.tcb_status === "UpToDate";
  const advisories = a.advisory_ids.length ? ` · advisories ${a.advisory_ids.join(", ")}` : "";
  return el("span", { class: "tcb-status" },
    el("span", { class: `badge ${ok ? "ok" : "warn"}` }, a.tcb_status), advisories);
}

// The checks the evidence's verifier passed (any evidence type: CPU TEE, GPU, vTPM, token).
function evidenceChecks(a) {
  if (!a.checks.length) return el("p", { class: "muted" }, "The verifier lists no separate checks.");
  return el("ol", { class: "trail evidence-checks" },
    a.checks.map((c) => el("li", {}, el("strong", {}, c.name), `: ${c.detail}`)));
}

async function loadNodes() {
  let doc;
  try {
    doc = await getJSON("/api/nodes");
  } catch (err) {
    clear($("nodes-list"), el("p", { class: "error-box" }, err.message));
    return;
  }
  const list = clear($("nodes-list"));
  for (const n of doc.admitted) {
    const a = n.attestation;
    const card = el("div", { class: "node-card", id: `node-${n.node_id}` });
    const dl = el("dl", { class: "facts" });
    facts(dl, [
      ["key id", el("span", { class: "mono" }, short(n.key_id, 32))],
      ["HPKE suite", `${n.suite.kem}, ${n.suite.kdf}, ${n.suite.aead}`],
      ["features", n.features.join(", ")],
      ["TEE", `${a.tee_type}${a.product && a.product !== a.tee_type ? ` (${a.product})` : ""}${a.debug ? ", debug ON" : ""}`],
      ["measurement", el("span", { class: "mono" }, short(a.measurement, 48))],
      ["signed by", a.signer_chain.join(" ← ")],
      ["TCB status", tcbStatus(a)],
      ["TCB", Object.keys(a.tcb).length ? Object.entries(a.tcb).map(([k, v]) => `${k}=${v}`).join(", ") : "none reported"],
      ["release", `${n.release.package} ${n.release.version}, code ${short(n.release.code_digest)}, ${n.release.models} model files`],
      ["log entry", `${n.release.log_index} in ${n.checkpoint.origin} (size ${n.checkpoint.size})`],
    ]);
    card.append(
      el("h3", {}, n.node_id,
        el("span", { class: "badge" }, n.region),
        el("span", { class: "badge" }, n.provider),
        n.insecure ? el("span", { class: "badge warn" }, "simulated TEE · INSECURE") : el("span", { class: "badge ok" }, n.tee)),
      dl,
      el("h3", {}, `Evidence checks (${a.tee_type})`),
      evidenceChecks(a),
      ...(n.gpus || []).flatMap((g) => [
        el("h3", {}, `GPU ${g.product} (${g.mode}), driver ${g.driver_version}, VBIOS ${g.vbios_version}`),
        evidenceChecks(g),
      ]),
      el("h3", {}, "Admission checks that passed"),
      el("ol", { class: "trail" }, n.trail.map((line) => el("li", {}, line))),
    );
    list.append(card);
  }
  if (!doc.admitted.length) list.append(el("p", { class: "muted" }, "No node is admitted."));
  const refused = clear($("nodes-refused"));
  if (!doc.refused.length) refused.append(el("p", { class: "muted" }, "None: every node in the directory passed."));
  for (const r of doc.refused) refused.append(el("p", {}, el("strong", {}, r.node_id), `: ${r.reason}`));
}

// --- the Log tab --------------------------------------------------------------------------

function verdict(ok, error, id) {
  return el("span", { class: `verdict ${ok ? "ok" : "bad"}`, id }, ok ? "verified" : `FAILED (${error})`);
}

async function loadLog() {
  let doc;
  try {
    doc = await getJSON("/api/log");
  } catch (err) {
    clear($("log-proof"), el("p", { class: "error-box" }, err.message));
    return;
  }
  const t = doc.trusted;
  facts($("log-checkpoint"), [
    ["origin", t.origin],
    ["tree size", String(t.size)],
    ["root hash", el("span", { class: "mono" }, t.root_hash)],
    ["witnesses", `${t.witnesses.join(", ")} (${t.required_witnesses} required)`],
    ["read through", el("span", { class: "mono" }, doc.log_url)],
  ]);
  $("log-note").textContent = t.note ? t.note.text : "(no checkpoint yet)";
  const l = doc.latest;
  facts($("log-latest"), [
    ["tree size", String(l.size)],
    ["root hash", el("span", { class: "mono" }, l.root_hash)],
    ["signatures", l.note.signatures.map((s) => s.name).join(", ")],
    ["consistency", l.consistency.from === l.consistency.to ? "same tree as the trusted checkpoint" : `proof from size ${l.consistency.from} to ${l.consistency.to}: ${l.consistency.hashes.length} hashes`],
    ["check", verdict(l.verified, l.error, "log-latest-result")],
  ]);
  const proofs = clear($("log-proof"));
  doc.proofs.forEach((p, i) => {
    const dl = el("dl", { class: "facts" });
    facts(dl, [
      ["entry", String(p.index)],
      ["leaf hash", el("span", { class: "mono" }, p.leaf_hash)],
      ["tree", `size ${p.tree_size}, root ${short(p.root_hash, 32)}`],
      ["proof", p.hashes.length ? el("ol", { class: "hashes" }, p.hashes.map((h) => el("li", {}, h))) : "no hashes: in a tree of one entry, the root is that entry's leaf hash"],
      ["result", verdict(p.verified, p.error, i === 0 ? "log-proof-result" : undefined)],
    ]);
    proofs.append(dl);
  });
  if (!doc.proofs.length) {
    const why = l.verified ? "No admitted node to prove." : "Nothing read at a checkpoint that failed its check.";
    proofs.append(el("p", { class: "muted" }, why));
  }
  const table = el("table", { class: "items", id: "log-entries-table" },
    el("tr", {}, ["#", "entry", "code", "models", "measurement"].map((h) => el("th", {}, h))));
  for (const e of doc.entries) {
    const r = e.release;
    table.append(
      el("tr", {},
        el("td", {}, String(e.index)),
        el("td", {}, r ? `release ${r.package} ${r.version}` : keyStatementLabel(e), el("div", { class: "mono muted" }, short(e.leaf_hash, 24))),
        el("td", { class: "mono" }, r ? short(r.code_digest) : ""),
        el("td", {}, r ? String(r.models) : ""),
        el("td", { class: "mono" }, r ? Object.entries(r.measurements).filter(([, m]) => m).map(([tee, m]) => `${tee} ${short(m, 24)}`).join("\n") : "")),
    );
  }
  clear($("log-entries"), table);
  for (const e of doc.entries) {
    if (e.release) $("log-entries").append(manifestDetails(e));
  }
}

function keyStatementLabel(e) {
  const k = e.key_statement;
  const d = e.directory_statement;
  if (d) {
    const until = new Date(d.not_after * 1000).toISOString().slice(0, 16).replace("T", " ");
    return `node directory of ${d.service}: ${d.nodes} nodes, valid until ${until} UTC`;
  }
  if (!k) return `other (${bytes(e.bytes)})`;
  const what = k.kind === "ohttp-key-config" ? "gateway OHTTP key" : "issuer token key";
  const until = new Date(k.not_after * 1000).toISOString().slice(0, 16).replace("T", " ");
  return `${what} of ${k.service}, valid until ${until} UTC`;
}

function manifestDetails(entry) {
  const r = entry.release;
  const files = el("table", { class: "items" }, el("tr", {}, ["model file", "size", "SHA-256"].map((h) => el("th", {}, h))));
  for (const f of r.model_files) {
    files.append(el("tr", {}, el("td", { class: "mono" }, f.path), el("td", {}, bytes(f.size)), el("td", { class: "mono" }, short(f.sha256, 24))));
  }
  return el("details", { class: "manifest" },
    el("summary", {}, `Entry ${entry.index}: the release manifest (${plural(r.model_files.length, "model file")}, ${plural(r.dependencies.length, "pinned dependency", "pinned dependencies")})`),
    el("p", { class: "muted" }, `Code: ${r.code_files} files, digest ${r.code_digest}`),
    r.model_files.length ? files : el("p", { class: "muted" }, "No model files: the echo workloads only."),
    el("p", { class: "muted" }, r.dependencies.join(" · ")));
}

// --- wiring -------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab));
  $("audio-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (file) setAudio(file, file.name);
  });
  $("record-btn").addEventListener("click", toggleRecording);
  for (const button of document.querySelectorAll("button.run")) {
    button.addEventListener("click", () => run(button.dataset.feature));
  }
  for (const id of ["text-input", "search-items", "search-query", "imagine-prompt"]) {
    $(id).addEventListener("input", updateButtons);
  }
  $("inspect-btn").addEventListener("click", () => openInspector($("inspect-btn").dataset.id));
  $("chat-send").addEventListener("click", sendChat);
  $("chat-stop").addEventListener("click", () => chat.controller && chat.controller.abort());
  $("chat-new").addEventListener("click", newChat);
  $("chat-input").addEventListener("input", updateChatButtons);
  $("chat-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendChat();
    }
  });
  $("live-start").addEventListener("click", startLive);
  $("live-stop").addEventListener("click", stopLive);
  $("nodes-refresh").addEventListener("click", loadNodes);
  $("log-refresh").addEventListener("click", loadLog);
  loadStatus();
  loadHistory();
});
