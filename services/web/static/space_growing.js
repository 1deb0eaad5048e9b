// Space page sections of the growing-groups work: invitations by e-mail (facilitators, admins) and archiving (admins).
import { act, api, el, say, showApiError } from "/static/app.js";

const STATES = { pending: "waiting", accepted: "accepted", revoked: "withdrawn", declined: "declined", expired: "expired" };
const DELIVERY = { queued: "e-mail queued", sent: "e-mail sent", failed: "e-mail failed", suppressed: "unsubscribed", none: "no e-mail" };

/** Invite people by e-mail address, with or without an account; see and withdraw invitations. */
export async function emailInvitationsSection(space) {
  const area = el("section", { class: "card", id: "email-invitations", "aria-labelledby": "inv-title" });
  const list = el("ul", {});
  async function refresh() {
    let items;
    try {
      items = (await api("GET", `/spaces/${space.id}/email-invitations`)).items;
    } catch (err) {
      say(area, "error", err.message);
      return;
    }
    list.replaceChildren(...items.map((i) => {
      const row = el("li", {}, `${i.email} — ${STATES[i.status] || i.status}, ${DELIVERY[i.delivery] || i.delivery}`,
        i.for_new_person ? el("span", { class: "small muted" }, " (new to the network)") : null);
      if (i.status === "pending") {
        const withdraw = el("button", { type: "button", class: "link small" }, "withdraw");
        withdraw.addEventListener("click", async () => {
          const ok = await act(withdraw, area, () => api("DELETE", `/spaces/${space.id}/email-invitations/${i.id}`), "Withdrawn.");
          if (ok !== undefined) await refresh();
        });
        row.append(" ", withdraw);
      }
      return row;
    }));
  }
  const email = el("input", { id: "inv-email", type: "email", required: true, maxlength: 320, autocomplete: "off" });
  const note = el("input", { id: "inv-note", maxlength: 1000 });
  const button = el("button", { type: "submit" }, "Send invitation");
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      try {
        await api("POST", `/spaces/${space.id}/email-invitations`, { email: email.value, message: note.value });
        say(area, "success", `Invitation sent to ${email.value.trim()}.`);
        form.reset();
        await refresh();
      } catch (err) {
        showApiError(area, err);
      } finally {
        button.disabled = false;
      }
    },
  },
  el("label", { for: "inv-email" }, "E-mail address"), email,
  el("label", { for: "inv-note" }, "A note ", el("span", { class: "hint" }, "(optional)")), note,
  el("p", { class: "small muted" }, "Anyone in this network, in a network the space is shared with, or someone with no account yet (they become a member of the network when they accept). The link works once and expires."),
  el("p", {}, button));
  area.append(el("h2", { id: "inv-title" }, "Invite by e-mail"), form, list);
  await refresh();
  return area;
}

/** Archive (read-only, out of the directories) or restore the space. */
export function archiveSection(space) {
  const area = el("section", { class: "card", id: "archive" });
  const archived = Boolean(space.archived_at);
  const button = el("button", { type: "button", class: archived ? "" : "secondary" }, archived ? "Restore this space" : "Archive this space");
  button.addEventListener("click", async () => {
    if (!archived && !confirm("Archive this space? It becomes read-only and leaves the directories; you can restore it.")) return;
    const done = await act(button, area, () => api(archived ? "DELETE" : "PUT", `/spaces/${space.id}/archive`));
    if (done) location.reload();
  });
  area.append(el("h2", {}, archived ? "Archived" : "Archive"),
    el("p", { class: "small muted" }, archived ? "This space is read-only and hidden from the directories." : "An archived space is read-only and hidden from the directories; members keep its history."),
    button);
  return area;
}
