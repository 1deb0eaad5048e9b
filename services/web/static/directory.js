// The network page's "Find a group" (search, kind filter, join modes) and, for admins, the public directory switch.
import { KINDS, act, api, el, say } from "/static/app.js";

/** Signed-in directory: descriptions, filter by kind, search; Join only where joining can work. */
export function directorySection(slug) {
  const area = el("section", { class: "card", id: "find-a-group", "aria-labelledby": "find-title" });
  const q = el("input", { id: "dq", type: "search", maxlength: 200, placeholder: "words in the name or description" });
  const kind = el("select", { id: "dkind" }, el("option", { value: "" }, "all kinds"),
    Object.keys(KINDS).map((k) => el("option", { value: k }, k)));
  const list = el("ul", { class: "directory" });
  async function load() {
    const params = new URLSearchParams();
    if (kind.value) params.set("kind", kind.value);
    if (q.value.trim()) params.set("q", q.value.trim());
    let items;
    try {
      items = (await api("GET", `/networks/${slug}/directory?${params}`)).items;
    } catch (err) {
      say(area, "error", err.message);
      return;
    }
    list.replaceChildren(...(items.length ? items.map((s) => {
      const button = s.join_button ? el("button", { type: "button" }, `${s.join_button}: ${s.name}`) : null;
      if (button) {
        button.addEventListener("click", async () => {
          const done = await act(button, area, () => api("POST", `/spaces/${s.id}/join`, {}));
          if (done && done.outcome === "requested") say(area, "success", `Your request to join ${s.name} was sent to its facilitators.`);
          else if (done) window.location.assign(`/spaces/${s.id}`);
        });
      }
      return el("li", { class: "card" },
        el("h3", {}, el("a", { href: `/spaces/${s.id}` }, s.name)),
        el("p", {}, el("span", { class: "badge" }, s.kind), " ", el("span", { class: "badge join-mode" }, s.join),
          s.my_role ? el("span", { class: "small muted" }, s.my_role === "facilitator" ? " you facilitate" : " you're a member") : null),
        s.description ? el("p", { class: "small" }, s.description) : null,
        button ? el("p", {}, button) : s.join_mode === "invite" && !s.my_role
          ? el("p", { class: "small muted" }, "By invitation only: ask one of its facilitators.") : null);
    }) : [el("li", { class: "muted" }, "No group matches.")]));
  }
  const form = el("form", { class: "row", role: "search", onsubmit: (e) => { e.preventDefault(); load(); } },
    el("label", { for: "dq" }, "Search"), q, el("label", { for: "dkind" }, "Kind"), kind,
    el("button", { type: "submit" }, "Find"));
  kind.addEventListener("change", load);
  area.append(el("h2", { id: "find-title" }, "Find a group"), form, list);
  load();
  return area;
}

/** Admins: switch the public directory, get its short link and QR code, choose which spaces it shows. */
export async function publicDirectoryAdmin(slug, spaces) {
  const area = el("section", { class: "card", id: "public-directory-admin", "aria-labelledby": "pd-title" });
  const body = el("div", {});
  async function render() {
    const s = await api("GET", `/networks/${slug}/directory-settings`);
    const toggle = el("button", { type: "button" }, s.public ? "Turn the public directory off" : "Turn the public directory on");
    toggle.addEventListener("click", async () => {
      const done = await act(toggle, area, () => api("PUT", `/networks/${slug}/directory-settings`, { public: !s.public }));
      if (done) await render();
    });
    const listed = new Set(s.spaces);
    const rows = spaces.filter((x) => x.visibility === "listed").map((x) => {
      const box = el("input", { type: "checkbox", checked: listed.has(x.id), "aria-label": `Show ${x.name} publicly` });
      box.addEventListener("change", async () => {
        try {
          if (box.checked) await api("PUT", `/spaces/${x.id}/public-listing`, {});
          else await api("DELETE", `/spaces/${x.id}/public-listing`);
          say(area, "success", "Saved.");
        } catch (err) {
          box.checked = !box.checked;
          say(area, "error", err.message);
        }
      });
      return el("li", {}, el("label", { class: "inline" }, box, " ", x.name));
    });
    body.replaceChildren(
      el("p", {}, s.public ? "The public directory is on: anyone with the link sees the spaces ticked below (never who belongs)." : "The public directory is off."),
      el("p", {}, toggle),
      s.short_url ? el("p", { class: "small" }, "Short link: ", el("a", { href: s.short_url }, s.short_url)) : null,
      s.qr_url && s.public ? el("p", {}, el("img", { src: s.qr_url, alt: "QR code of the directory's short link", width: 160, height: 160 })) : null,
      el("h3", {}, "Spaces shown publicly"), el("ul", {}, rows));
  }
  area.append(el("h2", { id: "pd-title" }, "Public directory"), body);
  try {
    await render();
  } catch (err) {
    say(area, "error", err.message);
  }
  return area;
}
