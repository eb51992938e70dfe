// The LongLink lab page: reads the simulation's feed (server-sent events on /api/events, one
// JSON object each, see sim-modem/src/live/web.rs), and sends what a person asks for to
// /api/send, /api/close, /api/reset and /api/fault. The fault form is built from the fault
// schema (/api/fault-schema), so a new fault needs no change here. No libraries.
"use strict";

const MAX_LOG_LINES = 2000;
const MAX_DATA_LINES = 2000;

const $ = (id) => document.getElementById(id);

/** Every device seen, by client id: its address, times, state and data. */
const devices = new Map();
let selected = null;

function bytesOf(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
  return bytes;
}

/** Bytes as readable text: printable ASCII as it is, the rest escaped (\r, \n, \xHH). */
function textOf(bytes) {
  let text = "";
  for (const b of bytes) {
    if (b === 0x0d) text += "\\r";
    else if (b === 0x0a) text += "\\n";
    else if (b === 0x09) text += "\\t";
    else if (b === 0x5c) text += "\\\\";
    else if (b >= 0x20 && b < 0x7f) text += String.fromCharCode(b);
    else text += "\\x" + b.toString(16).padStart(2, "0");
  }
  return text;
}

function hexOf(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** The wall-clock time of a message, and its time in the simulation. */
function stamp(message) {
  const wall = new Date(message.wall);
  const clock = wall.toLocaleTimeString([], { hour12: false }) + "." + String(wall.getMilliseconds()).padStart(3, "0");
  return `${clock} (+${message.t.toFixed(3)}s)`;
}

function span(cls, text) {
  const element = document.createElement("span");
  element.className = cls;
  element.textContent = text;
  return element;
}

function trim(list, max) {
  while (list.children.length > max) list.removeChild(list.firstChild);
}

function followScroll(list, follow) {
  if (follow) list.scrollTop = list.scrollHeight;
}

// --- The feed. ---

function onMessage(message) {
  switch (message.kind) {
    case "accepted": {
      devices.set(message.client, {
        client: message.client, transport: message.transport, peer: message.peer,
        since: stamp(message), closed: null, chunks: [], rx: 0, tx: 0,
      });
      if (selected === null || devices.get(selected)?.closed !== null) select(message.client);
      renderDevices();
      break;
    }
    case "received":
    case "sent": {
      const device = devices.get(message.client);
      if (!device) break;
      const bytes = bytesOf(message.hex);
      const chunk = { dir: message.kind === "received" ? "rx" : "tx", when: stamp(message), bytes };
      device.chunks.push(chunk);
      if (device.chunks.length > MAX_DATA_LINES) device.chunks.shift();
      device[chunk.dir] += bytes.length;
      if (message.client === selected) appendChunk(chunk);
      renderDevices();
      break;
    }
    case "closed": {
      const device = devices.get(message.client);
      if (device) device.closed = message.reason;
      renderDevices();
      if (message.client === selected) renderDevice();
      break;
    }
    case "at": {
      const toModem = message.dir === "to_modem";
      log(message, toModem ? "tx" : "rx", toModem ? "→ modem " : "← modem ", textOf(bytesOf(message.hex)));
      break;
    }
    case "note":
      log(message, "note-" + message.source, message.source.padEnd(8), message.text);
      break;
    case "status":
      renderStatus(message);
      break;
  }
}

function log(message, cls, what, text) {
  const list = $("log");
  const line = document.createElement("li");
  line.className = cls;
  line.append(span("time", stamp(message)), what + " " + text);
  list.append(line);
  trim(list, MAX_LOG_LINES);
  followScroll(list, $("follow").checked);
}

function renderStatus(status) {
  const shown = [
    ["power", status.power], ["registration", status.registration], ["cell", status.cell],
    ["PDP", status.pdp], ["IP state", status.ip_state],
  ];
  if (status.device) shown.push(["device", status.device]);
  const list = $("status");
  list.replaceChildren();
  for (const [name, value] of shown) {
    const item = document.createElement("div");
    item.dataset.name = name;
    const term = document.createElement("dt");
    term.textContent = name;
    const description = document.createElement("dd");
    description.textContent = value;
    item.append(term, description);
    list.append(item);
  }
}

// --- The devices. ---

function renderDevices() {
  const body = $("devices").tBodies[0];
  body.replaceChildren();
  for (const device of [...devices.values()].reverse()) {
    const row = body.insertRow();
    row.dataset.client = device.client;
    row.className = (device.closed === null ? "open" : "closed") + (device.client === selected ? " selected" : "");
    const state = device.closed === null ? "open" : `closed (${device.closed})`;
    for (const text of [device.client, `${device.transport} ${device.peer}`, device.since, state, `${device.rx} / ${device.tx} B`]) {
      row.insertCell().textContent = text;
    }
    row.cells[3].className = "state";
    row.addEventListener("click", () => select(device.client));
  }
  $("no-devices").hidden = devices.size > 0;
}

function select(client) {
  selected = client;
  renderDevices();
  renderDevice();
}

function view() {
  return document.querySelector("input[name=view]:checked").value;
}

function renderDevice() {
  const device = devices.get(selected);
  $("device-title").textContent = device ? `${device.client}: ${device.transport} ${device.peer}${device.closed === null ? "" : " (closed)"}` : "—";
  $("data").replaceChildren();
  if (device) for (const chunk of device.chunks) appendChunk(chunk);
}

function appendChunk(chunk) {
  const list = $("data");
  const line = document.createElement("li");
  line.className = chunk.dir;
  line.append(span("time", chunk.when), chunk.dir === "rx" ? "← " : "→ ");
  const shown = view();
  if (shown !== "hex") line.append(span("text", textOf(chunk.bytes)));
  if (shown !== "text") line.append(" ", span("hex", `[${hexOf(chunk.bytes)}]`));
  list.append(line);
  trim(list, MAX_DATA_LINES);
  followScroll(list, true);
}

// --- Requests. ---

async function post(path, body, answer) {
  answer.classList.remove("error");
  answer.textContent = "…";
  try {
    const response = await fetch(path, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    const reply = await response.json();
    if (response.ok) {
      answer.textContent = reply.answer || "done";
    } else {
      answer.classList.add("error");
      answer.textContent = reply.error || response.statusText;
    }
  } catch (error) {
    answer.classList.add("error");
    answer.textContent = String(error);
  }
}

function needDevice() {
  if (selected !== null) return true;
  $("answer").classList.add("error");
  $("answer").textContent = "choose a device first";
  return false;
}

$("send").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!needDevice()) return;
  const payload = $("send-text").value;
  const body = { client: selected };
  if ($("send-mode").value === "hex") body.hex = payload;
  else body.text = payload + ($("send-newline").checked ? "\n" : "");
  post("/api/send", body, $("answer"));
});
$("close-button").addEventListener("click", () => needDevice() && post("/api/close", { client: selected }, $("answer")));
$("reset-button").addEventListener("click", () => needDevice() && post("/api/reset", { client: selected }, $("answer")));
for (const radio of document.querySelectorAll("input[name=view]")) radio.addEventListener("change", renderDevice);

// --- The fault form, from the schema. ---

let schema = null;

/** A property with its `$ref` resolved (the property's own description wins). */
function resolve(property) {
  if (!property.$ref) return property;
  const name = property.$ref.split("/").pop();
  return { ...schema.$defs[name], ...property, $ref: undefined };
}

/** The values a property takes, when it is a choice: [value, description]. */
function choices(property) {
  if (property.enum) return property.enum.map((v) => [v, ""]);
  if (property.oneOf && property.oneOf.every((o) => o.const !== undefined || o.enum)) {
    return property.oneOf.flatMap((o) => (o.enum ? o.enum : [o.const]).map((v) => [v, o.description || ""]));
  }
  return null;
}

function types(property) {
  return [].concat(property.type || []);
}

function variantName(variant) {
  return variant.properties.kind.const;
}

function buildFaultForm() {
  const kinds = $("fault-kind");
  kinds.replaceChildren();
  for (const variant of schema.oneOf) {
    const option = document.createElement("option");
    option.value = option.textContent = variantName(variant);
    option.title = variant.description || "";
    kinds.append(option);
  }
  kinds.addEventListener("change", buildFields);
  buildFields();
}

function currentVariant() {
  return schema.oneOf.find((v) => variantName(v) === $("fault-kind").value);
}

function buildFields() {
  const variant = currentVariant();
  $("fault-doc").textContent = variant.description || "";
  const fields = $("fault-fields");
  fields.replaceChildren();
  const required = new Set(variant.required || []);
  for (const [name, raw] of Object.entries(variant.properties)) {
    if (name === "kind") continue;
    const property = resolve(raw);
    const label = document.createElement("label");
    label.title = property.description || "";
    label.append(span("name", name + (required.has(name) ? "" : " (optional)")));
    let input;
    const options = choices(property);
    if (options) {
      input = document.createElement("select");
      for (const [value, description] of options) {
        const option = document.createElement("option");
        option.value = option.textContent = value;
        option.title = description;
        input.append(option);
      }
    } else if (types(property).includes("boolean")) {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = property.default === true;
    } else if (types(property).includes("integer") || types(property).includes("number")) {
      input = document.createElement("input");
      input.type = "number";
      if (property.minimum !== undefined) input.min = property.minimum;
      if (property.maximum !== undefined) input.max = property.maximum;
      if (typeof property.default === "number") input.value = property.default;
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.placeholder = (property.examples && property.examples[1]) || "";
    }
    input.id = "fault-field-" + name;
    input.name = name;
    input.dataset.required = required.has(name);
    label.append(input, span("hint", " " + (property.description || "").split("\n")[0]));
    fields.append(label);
  }
}

$("fault").addEventListener("submit", (event) => {
  event.preventDefault();
  const variant = currentVariant();
  const fault = { kind: variantName(variant) };
  for (const input of $("fault-fields").querySelectorAll("input, select")) {
    if (input.type === "checkbox") fault[input.name] = input.checked;
    else if (input.value === "" && input.dataset.required !== "true") continue;
    else if (input.type === "number") fault[input.name] = Number(input.value);
    else fault[input.name] = input.value;
  }
  post("/api/fault", fault, $("fault-answer"));
});

// --- Start. ---

// `?view=hex` or `?view=both` opens the page with that view of the data.
const asked = new URLSearchParams(location.search).get("view");
const wanted = ["text", "hex", "both"].includes(asked) ? asked : "text";
for (const radio of document.querySelectorAll("input[name=view]")) radio.checked = radio.value === wanted;

fetch("/api/fault-schema").then((r) => r.json()).then((s) => { schema = s; buildFaultForm(); });

const events = new EventSource("/api/events");
events.onopen = () => {
  // A reconnected stream starts again from the backlog.
  devices.clear();
  selected = null;
  $("log").replaceChildren();
  renderDevices();
  renderDevice();
  $("link").textContent = "live";
  $("link").className = "link up";
};
events.onerror = () => { $("link").textContent = "disconnected (retrying)"; $("link").className = "link"; };
events.onmessage = (event) => onMessage(JSON.parse(event.data));
