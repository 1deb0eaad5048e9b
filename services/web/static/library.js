// A resource library (a space's or a network's): list, pin, delete, share a link, upload a file
// with a progress bar, search. Text is always inserted as text (never innerHTML) except search
// snippets, which the server escapes and marks up with <mark> only.
import { ApiError, act, api, el, fill, say } from "/static/app.js";

const SAFE_LINK = /^https?:\/\//i;

function size(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

/** A link people can click safely: http(s) only, in a new tab, without handing over this page. */
export function safeLink(url, text) {
  if (!SAFE_LINK.test(url)) return el("span", {}, text);
  return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text);
}

/** Upload ``file`` to ``path`` (under /api/v1) with progress callbacks; resolves to the new resource. */
export function uploadFile(path, file, { title, tags, isPublic, onProgress }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1" + path);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    // Metadata rides in headers, never the URL, so no title or file name reaches access logs.
    xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    if (title) xhr.setRequestHeader("X-Title", encodeURIComponent(title));
    if (tags) xhr.setRequestHeader("X-Tags", encodeURIComponent(tags));
    if (isPublic) xhr.setRequestHeader("X-Public", "true");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        const error = (data && data.error) || {};
        reject(new ApiError(xhr.status, error.code || "error", error.message || `The server answered ${xhr.status}.`, error.details));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "offline", "The upload did not reach the server. Check your connection and try again.")));
    xhr.send(file);
  });
}

function item(resource, lib, refresh, area) {
  const title = resource.kind === "link"
    ? safeLink(resource.url, resource.title)
    : el("a", { href: resource.file.download_url, download: resource.file.name }, resource.title);
  const meta = [
    resource.kind === "file" ? `${resource.file.name} · ${size(resource.file.size)}` : new URL(resource.url).host,
    ` · added by ${resource.added_by_name || "a former member"} on ${new Date(resource.created_at).toLocaleDateString()}`,
  ];
  const row = el("li", { class: "resource", "data-id": resource.id },
    resource.pinned ? el("span", { class: "badge ok" }, "Pinned") : null, " ",
    el("strong", {}, title),
    el("div", { class: "small muted" }, meta),
    resource.note ? el("p", { class: "small" }, resource.note) : null,
    resource.tags.length ? el("p", { class: "small" }, resource.tags.map((t) => el("span", { class: "badge" }, t))) : null);
  const buttons = el("div", { class: "row" });
  if (lib.can_pin) {
    const pin = el("button", { type: "button", class: "secondary" }, resource.pinned ? "Unpin" : "Pin");
    pin.addEventListener("click", async () => {
      const done = await act(pin, area, () => api(resource.pinned ? "DELETE" : "PUT", `${lib.path}/${resource.id}/pin`));
      if (done) refresh();
    });
    buttons.append(pin);
  }
  if (resource.can_change) {
    const remove = el("button", { type: "button", class: "secondary" }, "Delete");
    remove.addEventListener("click", async () => {
      if (!confirm(`Delete “${resource.title}” from the library?`)) return;
      const done = await act(remove, area, () => api("DELETE", `${lib.path}/${resource.id}`), "Deleted.");
      if (done !== undefined) refresh();
    });
    buttons.append(remove);
  }
  if (buttons.childNodes.length) row.append(buttons);
  return row;
}

function addForms(lib, area, refresh) {
  const linkTitle = el("input", { id: "link-title", maxlength: 200, required: true });
  const linkUrl = el("input", { id: "link-url", type: "url", maxlength: 2000, required: true, placeholder: "https://…" });
  const linkTags = el("input", { id: "link-tags", placeholder: "tags, comma-separated" });
  const linkPublic = el("input", { id: "link-public", type: "checkbox" });
  const linkButton = el("button", { type: "submit" }, "Share link");
  const linkForm = el("form", {
    class: "stack",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = { title: linkTitle.value, url: linkUrl.value.trim(), tags: linkTags.value.split(",").map((t) => t.trim()).filter(Boolean) };
      if (lib.network && linkPublic.checked) body.public = true;
      const done = await act(linkButton, area, () => api("POST", lib.path, body), "Link shared.");
      if (done) { linkForm.reset(); refresh(); }
    },
  }, el("label", { for: "link-title" }, "Link title"), linkTitle, el("label", { for: "link-url" }, "Web address"), linkUrl,
  el("label", { for: "link-tags" }, "Link tags"), linkTags,
  lib.network ? el("label", { for: "link-public" }, linkPublic, " Public (anyone can see it)") : null, linkButton);

  const fileInput = el("input", { id: "file-input", type: "file", required: true });
  const fileTitle = el("input", { id: "file-title", maxlength: 200, placeholder: "(the file's name)" });
  const filePublic = el("input", { id: "file-public", type: "checkbox" });
  const progress = el("progress", { id: "upload-progress", max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const fileButton = el("button", { type: "submit" }, "Upload");
  const fileForm = el("form", {
    class: "stack",
    onsubmit: async (event) => {
      event.preventDefault();
      const file = fileInput.files[0];
      if (!file) { say(area, "error", "Choose a file first."); return; }
      if (file.size > lib.max_upload_bytes) {
        say(area, "error", `Files may be at most ${size(lib.max_upload_bytes)}; this one is ${size(file.size)}. Share a link to it instead.`);
        return;
      }
      progress.hidden = false;
      progress.value = 0;
      const done = await act(fileButton, area, () => uploadFile(`${lib.path}/files`, file, {
        title: fileTitle.value.trim(),
        isPublic: lib.network && filePublic.checked,
        onProgress: (loaded, total) => { progress.value = Math.round((loaded / total) * 100); },
      }), "File uploaded.");
      progress.hidden = true;
      if (done) { fileForm.reset(); refresh(); }
    },
  }, el("label", { for: "file-input" }, `File (documents and images, up to ${size(lib.max_upload_bytes)}; share audio and video as links)`),
  fileInput, el("label", { for: "file-title" }, "File title"), fileTitle,
  lib.network ? el("label", { for: "file-public" }, filePublic, " Public (anyone can see it)") : null, progress, fileButton);

  return el("div", { class: "grid2" }, el("div", {}, el("h3", {}, "Share a link"), linkForm), el("div", {}, el("h3", {}, "Upload a file"), fileForm));
}

/** "Add to the library", with its forms built when first opened (so a page's other forms keep
 * their labels to themselves until then). */
function addPanel(lib, area, refresh) {
  const panel = el("details", { class: "add" }, el("summary", {}, "Add to the library"));
  panel.addEventListener("toggle", () => {
    if (panel.open && panel.childNodes.length === 1) panel.append(addForms(lib, area, refresh));
  });
  return panel;
}

function searchForm(lib, area) {
  const input = el("input", { id: "library-search", type: "search", maxlength: 200, "aria-label": "Search messages and resources" });
  const results = el("ol", { class: "search-results", "aria-live": "polite" });
  const button = el("button", { type: "submit", class: "secondary" }, "Search");
  const form = el("form", {
    class: "row",
    role: "search",
    onsubmit: async (event) => {
      event.preventDefault();
      const q = input.value.trim();
      if (!q) { results.replaceChildren(); return; }
      const scope = lib.space ? `&space=${encodeURIComponent(lib.space)}` : "";
      const found = await act(button, area, () => api("GET", `/search?q=${encodeURIComponent(q)}${scope}`));
      if (!found) return;
      results.replaceChildren(...(found.items.length ? found.items.map((hit) => {
        const snippet = el("span", {});
        snippet.innerHTML = hit.snippet_html; // escaped by the server; only <mark> is markup
        const head = hit.kind === "resource"
          ? (hit.url && SAFE_LINK.test(hit.url) && !hit.url.startsWith("/") ? safeLink(hit.url, hit.title) : el("a", { href: hit.url }, hit.title))
          : el("span", { class: "small muted" }, `${hit.author_name || "someone"} in chat`);
        return el("li", {}, head, " ", snippet);
      }) : [el("li", { class: "muted" }, "Nothing found.")]));
    },
  }, input, button);
  return [form, results];
}

/** The library section: ``lib`` is {path, space?, network?, heading}. Resolves to the section. */
export async function librarySection(lib) {
  const area = el("section", { class: "card", id: "library" });
  const list = el("ul", { class: "resources" });
  const status = el("p", { class: "small muted" });
  const state = { page: 1 };
  let forms = null;
  async function refresh() {
    let data;
    try {
      data = await api("GET", `${lib.path}?page=${state.page}&limit=25`);
    } catch (err) {
      say(area, "error", err.message);
      return;
    }
    Object.assign(lib, { can_pin: data.can_pin, max_upload_bytes: data.max_upload_bytes });
    fill(list, data.items.length ? data.items.map((r) => item(r, lib, refresh, area)) : [el("li", { class: "muted" }, "Nothing here yet.")]);
    const pages = Math.max(1, Math.ceil(data.total / data.limit));
    status.replaceChildren(`${data.total} resource${data.total === 1 ? "" : "s"}`);
    if (pages > 1) {
      const prev = el("button", { type: "button", class: "link", disabled: state.page <= 1 }, "‹ Newer");
      const next = el("button", { type: "button", class: "link", disabled: state.page >= pages }, "Older ›");
      prev.addEventListener("click", () => { state.page -= 1; refresh(); });
      next.addEventListener("click", () => { state.page += 1; refresh(); });
      status.append(` · page ${state.page} of ${pages} `, prev, " ", next);
    }
    if (data.can_add && !forms) {
      forms = addPanel(lib, area, refresh);
      area.append(forms);
    }
  }
  area.append(el("h2", {}, lib.heading || "Library"), ...(lib.searchable ? searchForm(lib, area) : []), list, status);
  await refresh();
  return area;
}
