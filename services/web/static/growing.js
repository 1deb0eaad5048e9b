// Home page sections of the growing-groups work: pending invitations, notifications and e-mail choices.
import { act, api, el, say } from "/static/app.js";

/** Pending invitations for your address, each with Accept and Decline (hidden when there are none). */
export async function invitationsSection() {
  let items;
  try {
    items = (await api("GET", "/me/invitations")).items;
  } catch {
    return null;
  }
  if (!items.length) return null;
  const area = el("section", { class: "card", id: "invitations", "aria-labelledby": "invitations-title" });
  const list = el("ul", {});
  for (const inv of items) {
    const accept = el("button", { type: "button" }, `Join ${inv.space_name}`);
    const decline = el("button", { type: "button", class: "secondary" }, "Decline");
    const item = el("li", {},
      el("strong", {}, inv.space_name), ` (${inv.network_name})`,
      inv.invited_by ? ` — invited by ${inv.invited_by}` : "",
      inv.message ? el("p", { class: "small" }, inv.message) : null,
      el("p", {}, accept, " ", decline));
    accept.addEventListener("click", async () => {
      const done = await act(accept, area, () => api("POST", `/me/invitations/${inv.id}/accept`));
      if (done) window.location.assign(`/spaces/${done.space_id}`);
    });
    decline.addEventListener("click", async () => {
      const done = await act(decline, area, () => api("POST", `/me/invitations/${inv.id}/decline`), "Invitation declined.");
      if (done !== undefined) item.remove();
    });
    list.append(item);
  }
  area.append(el("h2", { id: "invitations-title" }, "Invitations"), list);
  return area;
}

/** Proposed groups that ask you to facilitate them, each with Agree and Decline (hidden when none). */
export async function facilitationRequestsSection() {
  let items;
  try {
    items = (await api("GET", "/me/facilitation-requests")).items;
  } catch {
    return null;
  }
  if (!items.length) return null;
  const area = el("section", { class: "card", id: "facilitation-requests", "aria-labelledby": "facilitation-title" });
  const list = el("ul", {});
  for (const r of items) {
    const agree = el("button", { type: "button" }, `Agree to facilitate ${r.name}`);
    const decline = el("button", { type: "button", class: "secondary" }, "Decline");
    const status = r.status === "approved" ? "approved — the group exists" : "waiting for the network's admins";
    const item = el("li", {},
      el("strong", {}, r.name), ` (${r.network_name}) — proposed by ${r.proposer_name}, ${status}`,
      el("p", { class: "small" }, r.purpose),
      el("p", {}, agree, " ", decline));
    const answer = (button, path, message, short) => async () => {
      const done = await act(button, area, () => api("POST", `/me/facilitation-requests/${r.proposal_id}/${path}`), message);
      if (!done) return;
      if (done.space_id) window.location.assign(`/spaces/${done.space_id}`);
      else item.replaceChildren(el("strong", {}, r.name), ` — ${short}`);
    };
    agree.addEventListener("click",
      answer(agree, "accept", "You agreed; you will facilitate it once it is approved.", "agreed"));
    decline.addEventListener("click", answer(decline, "decline", "You declined.", "declined"));
    list.append(item);
  }
  area.append(el("h2", { id: "facilitation-title" }, "Asked to facilitate"),
    el("p", { class: "small muted" }, "Someone proposed a group and named you as a facilitator. Nobody facilitates without agreeing."),
    list);
  return area;
}

/** Your newest notifications (unread ones marked) and, folded away, how each kind reaches you. */
export async function notificationsSection() {
  let data;
  let prefs;
  try {
    [data, prefs] = await Promise.all([api("GET", "/me/notifications?limit=20"), api("GET", "/me/notification-preferences")]);
  } catch {
    return null;
  }
  const area = el("section", { class: "card", id: "notifications", "aria-labelledby": "notifications-title" });
  const list = data.items.length
    ? el("ul", {}, data.items.map((n) => {
      const item = el("li", { class: n.read ? "muted" : "" },
        n.link ? el("a", { href: n.link }, n.title) : el("span", {}, n.title),
        n.body ? el("span", { class: "small" }, ` — ${n.body}`) : null);
      if (!n.read) {
        const mark = el("button", { type: "button", class: "link small" }, "mark read");
        mark.addEventListener("click", async () => {
          const ok = await act(mark, area, () => api("POST", `/me/notifications/${n.id}/read`));
          if (ok !== undefined) { item.className = "muted"; mark.remove(); }
        });
        item.append(" ", mark);
      }
      return item;
    }))
    : el("p", { class: "muted" }, "Nothing new.");
  const choices = el("details", { class: "small" }, el("summary", {}, "How notifications reach you"),
    el("table", {}, prefs.items.map((p) => {
      const select = el("select", { "aria-label": p.description },
        [["email", "e-mail and here"], ["in_app", "only here"], ["off", "off"]].map(([v, label]) =>
          el("option", { value: v, selected: v === p.channel }, label)));
      select.addEventListener("change", async () => {
        try {
          await api("PUT", `/me/notification-preferences/${p.kind}`, { channel: select.value });
          say(area, "success", "Saved.");
        } catch (err) {
          say(area, "error", err.message);
        }
      });
      return el("tr", {}, el("td", {}, p.description), el("td", {}, select));
    })));
  area.append(el("h2", { id: "notifications-title" }, `Notifications${data.unread ? ` (${data.unread} new)` : ""}`), list, choices);
  return area;
}

/** Your name and pronouns, as others see them. */
export function profileSection(me) {
  const area = el("section", { class: "card", id: "profile" });
  const name = el("input", { id: "pname-me", required: true, maxlength: 200, value: me.display_name, autocomplete: "name" });
  const pronouns = el("input", { id: "ppronouns", maxlength: 60, value: me.pronouns || "", placeholder: "e.g. she/her, they/them" });
  const save = el("button", { type: "submit" }, "Save");
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      await act(save, area, () => api("PATCH", "/me", { display_name: name.value, pronouns: pronouns.value || null }), "Saved.");
      save.disabled = false;
    },
  }, el("label", { for: "pname-me" }, "Your name"), name,
  el("label", { for: "ppronouns" }, "Pronouns ", el("span", { class: "hint" }, "(optional)")), pronouns, el("p", {}, save));
  area.append(el("details", {}, el("summary", {}, "Your name and pronouns"), form));
  return area;
}
