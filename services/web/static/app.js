// Shared by every page: JSON API calls with the session cookie, and errors in plain words.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

/** Call the JSON API; resolve to the parsed body, or throw an ApiError carrying the server's sentence. */
export async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch("/api/v1" + path, init);
  } catch {
    throw new ApiError(0, "offline", "Could not reach the server. Check your connection and try again.");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = (data && data.error) || {};
    if (response.status === 401) {
      window.location.assign("/auth/login?next=" + encodeURIComponent(location.pathname));
    }
    throw new ApiError(response.status, error.code || "error", error.message || `The server answered ${response.status}.`, error.details);
  }
  return data;
}

/** Create an element: el("a", {href: "/"}, "Home"). Text children are escaped (never innerHTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+/gi;

/**
 * Text with its http(s) URLs as links, as a list of nodes for el() or append(). Never parses
 * HTML: the text stays text, and only http: and https: addresses become links (opened in a new
 * tab without handing this page to it: rel="noopener noreferrer").
 */
export function linkify(text) {
  const out = [];
  let last = 0;
  for (const match of String(text).matchAll(URL_IN_TEXT)) {
    // Trailing punctuation belongs to the sentence, not the address.
    const url = match[0].replace(/[.,;:!?'")\]}]+$/, "");
    let href = null;
    try {
      const parsed = new URL(url);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") href = parsed.href;
    } catch { /* not an address after all: keep it as text */ }
    if (!href) continue;
    if (match.index > last) out.push(text.slice(last, match.index));
    out.push(el("a", { href, rel: "noopener noreferrer", target: "_blank" }, url));
    last = match.index + url.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Show a message in a container's alert area (role=alert so screen readers announce it). */
export function say(container, kind, message) {
  let box = container.querySelector(":scope > .alert");
  if (!box) {
    box = el("div", { role: kind === "error" ? "alert" : "status" });
    container.prepend(box);
  }
  box.className = `alert ${kind}`;
  box.textContent = message;
  return box;
}

/** Replace a container's content. */
export function fill(container, ...children) {
  container.replaceChildren(...children.flat(Infinity).filter(Boolean));
}

/** Run an action from a button or form, showing progress and the outcome. */
export async function act(button, container, work, successMessage) {
  button.disabled = true;
  try {
    const result = await work();
    if (successMessage) say(container, "success", successMessage);
    return result;
  } catch (err) {
    say(container, "error", err.message || String(err));
    return undefined;
  } finally {
    button.disabled = false;
  }
}

// --- Plain-language wording for policy parameters, join modes and kinds ------------------------

export const PARAMETER_LABELS = {
  "meetings.virtual_per_year": "Virtual meetings a year",
  "meetings.in_person_per_year": "In-person meetings a year",
  "facilitators.min_count": "Facilitators needed",
  "facilitators.training_required": "Facilitators must be trained",
  "sessions.required_components": "Every session includes",
  "membership.join_mode": "How people join",
  "membership.max_members": "Most members",
  "membership.guests_allowed": "May be shared with other networks",
  "chat.retention_days": "Chat messages kept (days)",
  "chat.posting": "Who can post in chat",
  "nesting.max_depth": "Levels of sub-spaces allowed below",
};

export const JOIN_MODES = {
  open: "Anyone in the network can join",
  request: "People ask to join; a facilitator approves",
  invite: "By invitation only",
  parent_members: "Members of the parent space can join",
};

export const KINDS = {
  identity: "Identity (members share an identity — membership is private)",
  role: "Role (e.g. new principals, superintendents)",
  topic: "Topic (e.g. a book study)",
  cohort: "Cohort (e.g. a year-long course)",
};

export function label(parameter) {
  return PARAMETER_LABELS[parameter] || parameter;
}

export function showValue(value) {
  if (value === null || value === undefined) return "no limit";
  if (value === true) return "yes";
  if (value === false) return "no";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "nothing required";
  return JOIN_MODES[value] ? `${value} (${JOIN_MODES[value].toLowerCase()})` : String(value);
}

function sourceName(source) {
  if (!source) return "";
  if (source.kind === "template") return `template “${source.name}” v${source.version}`;
  if (source.kind === "space") return `parent space “${source.name}”`;
  return source.name || source.kind;
}

/** "at least 3 (template “ALAS basic” v1)" for one effective constraint. */
export function describeBound(constraint) {
  const parts = [];
  const src = constraint.sources || {};
  const from = (key) => {
    const s = Array.isArray(src[key]) ? src[key][0] : src[key];
    return s ? ` — set by ${sourceName(s)}` : "";
  };
  if (constraint.locked) parts.push(`fixed at ${showValue(constraint.value)}${from("locked")}`);
  if (constraint.min !== undefined && constraint.min !== null) parts.push(`at least ${constraint.min}${from("min")}`);
  if (constraint.max !== undefined && constraint.max !== null) parts.push(`at most ${constraint.max}${from("max")}`);
  if (constraint.allowed) parts.push(`one of ${constraint.allowed.join(", ")}${from("allowed")}`);
  if (constraint.required) parts.push(`must include ${constraint.required.join(", ")}${from("required")}`);
  return parts.join("; ");
}

/** The messages of a policy_violation error, one per line. */
export function violationLines(error) {
  const details = (error && error.details) || {};
  const lines = (details.violations || []).map((v) => v.message).filter(Boolean);
  const problems = (details.problems || []).map((p) => p.message).filter(Boolean);
  return [...lines, ...problems];
}

export function showApiError(container, error) {
  const lines = violationLines(error);
  const box = say(container, "error", error.message || String(error));
  if (lines.length > 1) {
    box.append(el("ul", {}, lines.map((line) => el("li", {}, line))));
  }
  return box;
}
