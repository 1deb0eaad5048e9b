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
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
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
  container.replaceChildren(...children.flat().filter(Boolean));
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
