// A space: what it is, how it runs (policy, editable by facilitators), who belongs, requests, chat.
import {
  JOIN_MODES, act, api, describeBound, el, fill, label, linkify, say, showApiError, showValue,
} from "/static/app.js";
import { archiveSection, emailInvitationsSection } from "/static/space_growing.js";
import { ChatRoom } from "/static/chat.js";
import { meetingsSection } from "/static/meetings.js";
import { librarySection } from "/static/library.js";

const page = document.getElementById("page");
const spaceId = page.dataset.space;

function header(space, network, parent) {
  return [
    el("p", { class: "small" }, el("a", { href: `/networks/${space.network}` }, network ? network.name : space.network),
      space.path.length > 1 || (space.path.length && !parent) ? " › …" : "",
      // Breadcrumbs name the parent (when the viewer may see it).
      parent ? [" › ", el("a", { href: `/spaces/${parent.id}` }, parent.name)] : ""),
    el("h1", {}, space.name),
    el("p", {}, el("span", { class: "badge" }, space.kind), " ",
      space.visibility === "unlisted" ? el("span", { class: "badge warn" }, "unlisted") : null, " ",
      el("span", { class: "muted small" }, JOIN_MODES[space.join_mode] || space.join_mode)),
    space.description ? el("p", { class: "description" }, linkify(space.description)) : null,
    space.kind === "identity"
      ? el("p", { class: "small muted" }, "This is an identity space: who belongs is visible only to its members and facilitators.")
      : null,
  ];
}

function membershipActions(space, area) {
  const box = el("div", { class: "row" });
  if (space.my_status === "active") {
    const leave = el("button", { class: "secondary", type: "button" }, "Leave this space");
    leave.addEventListener("click", async () => {
      if (!confirm("Leave this space? You will also leave every space inside it.")) return;
      const done = await act(leave, area, () => api("POST", `/spaces/${spaceId}/leave`), "You left the space.");
      if (done) setTimeout(() => location.reload(), 800);
    });
    box.append(el("span", { class: "badge ok" }, space.my_role === "facilitator" ? "You facilitate this space" : "You are a member"), leave);
  } else if (space.my_status === "banned") {
    box.append(el("span", { class: "badge bad" }, "You cannot join this space"));
  } else if (space.archived_at) {
    box.append(el("span", { class: "badge warn" }, "Archived: read-only"));
  } else if (space.join_mode === "invite" && space.my_status !== "invited") {
    // No Join button that the server would refuse.
    box.append(el("span", { class: "muted" }, "By invitation only: ask one of its facilitators to invite you."));
  } else {
    const text = space.join_mode === "request" ? "Ask to join" : "Join this space";
    const join = el("button", { type: "button" }, text);
    join.addEventListener("click", async () => {
      const out = await act(join, area, () => api("POST", `/spaces/${spaceId}/join`, {}));
      if (!out) return;
      if (out.outcome === "requested") say(area, "success", "Your request was sent. A facilitator will approve or decline it.");
      else setTimeout(() => location.reload(), 300);
    });
    box.append(join);
  }
  return box;
}

function policySection(policy, catalogue, canEdit) {
  const area = el("section", { class: "card", id: "policy" });
  const byName = new Map(catalogue.items.map((p) => [p.name, p]));
  const rows = Object.entries(policy.settings).map(([name, value]) => {
    const bound = policy.constraints[name];
    return el("tr", {}, el("td", {}, label(name)), el("td", {}, showValue(value)),
      el("td", { class: "small muted" }, bound ? describeBound(bound) : "this space decides"));
  });
  area.append(el("h2", {}, "How this space runs"),
    el("p", { class: "small muted" }, "Rules come from the network's templates and from the spaces above; everything else this space decides."),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Setting"), el("th", {}, "Value"), el("th", {}, "Rule"))), el("tbody", {}, rows)));
  if (policy.noncompliance && policy.noncompliance.length) {
    area.append(el("p", { class: "alert info" }, `Marked non-compliant: get back within the rules by ${policy.noncompliance[0].deadline}.`));
  }
  if (canEdit) area.append(settingsForm(policy, byName, area));
  return area;
}

function settingsForm(policy, byName, area) {
  const inputs = [];
  const fields = Object.entries(policy.settings).map(([name, value]) => {
    const parameter = byName.get(name) || { type: "text" };
    const bound = policy.constraints[name] || {};
    const id = `set-${name}`;
    let input;
    let read;
    if (parameter.type === "integer" || parameter.type === "duration") {
      input = el("input", { id, type: "number", min: bound.min ?? 0, max: bound.max ?? undefined, value: value ?? "" });
      read = () => (input.value === "" ? null : Number(input.value));
    } else if (parameter.type === "choice") {
      const allowed = bound.allowed || parameter.choices || [];
      input = el("select", { id }, allowed.map((c) => el("option", { value: c, selected: c === value }, c)));
      read = () => input.value;
    } else if (parameter.type === "flag") {
      input = el("select", { id, disabled: bound.locked },
        el("option", { value: "true", selected: value === true }, "yes"), el("option", { value: "false", selected: value === false }, "no"));
      read = () => input.value === "true";
    } else {
      input = el("input", { id, value: Array.isArray(value) ? value.join(", ") : value ?? "" });
      read = () => input.value.split(",").map((s) => s.trim()).filter(Boolean);
    }
    inputs.push({ name, read, before: JSON.stringify(value) });
    return [el("label", { for: id }, label(name), " ", el("span", { class: "hint" }, describeBound(bound))), input];
  });
  const button = el("button", { type: "submit" }, "Save settings");
  // novalidate: the server's refusal names the rule and who set it, which the browser's cannot.
  const form = el("form", {
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      const changed = {};
      for (const i of inputs) {
        const now = i.read();
        if (JSON.stringify(now) !== i.before) changed[i.name] = now;
      }
      if (!Object.keys(changed).length) {
        say(area, "info", "Nothing changed.");
        return;
      }
      button.disabled = true;
      try {
        await api("PATCH", `/spaces/${spaceId}`, { settings: changed });
        say(area, "success", "Settings saved.");
        setTimeout(() => location.reload(), 800);
      } catch (err) {
        showApiError(area, err);
      } finally {
        button.disabled = false;
      }
    },
  }, fields, el("p", {}, button));
  return el("details", {}, el("summary", {}, "Change settings"), form);
}

function subspacesSection(space, hierarchy, canCreate) {
  const children = hierarchy.items.filter((s) => s.parent_id === space.id);
  return el("section", { class: "card", id: "subspaces" },
    el("h2", {}, "Spaces inside"),
    children.length
      ? el("ul", {}, children.map((s) => el("li", {}, el("a", { href: `/spaces/${s.id}` }, s.name), " ", el("span", { class: "badge" }, s.kind))))
      : el("p", { class: "muted" }, "None yet."),
    canCreate ? el("a", { class: "button secondary", href: `/networks/${space.network}?parent=${space.id}#create-space` }, "Create a space inside this one") : null);
}

function shareForm(space, networks) {
  const area = el("section", { class: "card", id: "share" });
  const others = networks.items.filter((n) => n.slug !== space.network);
  const guest = el("select", { id: "share-guest" }, others.map((n) => el("option", { value: n.slug }, n.name)));
  const subspaces = el("input", { type: "checkbox", id: "share-sub" });
  const message = el("input", { id: "share-msg", maxlength: 1000, placeholder: "Optional note to the other network's admins" });
  const button = el("button", { type: "submit" }, "Offer to share");
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const share = await act(button, area, () => api("POST", `/spaces/${space.id}/shares`,
        { guest_network: guest.value, include_subspaces: subspaces.checked, message: message.value.trim() }));
      if (share) {
        say(area, "success", share.status === "active"
          ? "Shared: that network trusts yours, so its members can join now."
          : "Offer sent. That network's admins have 14 days to accept it.");
      }
    },
  },
  el("label", { for: "share-guest" }, "Network to invite"), guest,
  el("label", { class: "inline", for: "share-sub" }, subspaces, " Include the spaces inside this one"),
  el("label", { for: "share-msg" }, "Note"), message, el("p", {}, button));
  area.append(el("details", {}, el("summary", {}, "Share this space with another network"),
    el("p", { class: "small muted" }, "Members of the other network may then join under this space's rules. The member list stays private; you or they can end the share at any time."),
    others.length ? form : el("p", { class: "muted" }, "There is no other network to share with yet.")));
  return area;
}

function membersSection(members) {
  return el("section", { class: "card", id: "members" },
    el("h2", {}, `Members (${members.items.length})`),
    el("ul", {}, members.items.map((m) => el("li", {}, m.display_name, " ",
      m.role === "facilitator" ? el("span", { class: "badge ok" }, m.trained ? "facilitator · trained" : "facilitator") : null))));
}

function requestsSection(requests, area) {
  const pending = requests.items.filter((r) => r.status === "pending" && r.kind === "request");
  if (!pending.length) return null;
  const section = el("section", { class: "card", id: "requests" }, el("h2", {}, "Requests to join"));
  section.append(el("ul", {}, pending.map((r) => {
    const approve = el("button", { type: "button" }, "Approve");
    const decline = el("button", { type: "button", class: "secondary" }, "Decline");
    const decide = (verb, button) => async () => {
      const done = await act(button, section, () => api("POST", `/spaces/${spaceId}/requests/${r.id}/${verb}`), verb === "approve" ? "Approved." : "Declined.");
      if (done) setTimeout(() => location.reload(), 700);
    };
    approve.addEventListener("click", decide("approve", approve));
    decline.addEventListener("click", decide("decline", decline));
    return el("li", { class: "row" }, el("span", {}, r.display_name || "Someone", r.message ? ` — “${r.message}”` : ""), approve, decline);
  })));
  return section;
}

function chatSection(space, names, canPost, me, canModerate) {
  const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Chat messages" });
  const status = el("div", { class: "status", role: "status" });
  const input = el("input", { "aria-label": "Message", maxlength: 4000, placeholder: canPost ? "Write a message…" : "Only facilitators post here", disabled: !canPost });
  const form = el("form", {}, input, el("button", { type: "submit", disabled: !canPost }, "Send"));
  const section = el("section", { class: "card", id: "chat" }, el("h2", {}, "Chat"), el("div", { class: "chat" }, log, status, form));
  const onMute = async (account, name) => {
    if (!confirm(`Mute ${name}? They can still read this chat (and its sub-spaces' chats) but not post.`)) return;
    try {
      await api("PUT", `/spaces/${space.id}/mutes/${account}`);
      room.setStatus(`${name} is muted here.`);
    } catch (err) {
      room.setStatus(err.message, true);
    }
  };
  const room = new ChatRoom({ space: space.id, log, status, form, input, names, me, canModerate, onMute });
  return { section, room };
}

async function main() {
  let space;
  try {
    space = await api("GET", `/spaces/${spaceId}`);
  } catch (err) {
    fill(page, el("h1", {}, "Space not found"), el("p", {}, "This space does not exist, or you cannot see it."));
    return;
  }
  document.title = `${space.name} · Affinity Federation`;
  const [me, network, policy, catalogue, hierarchy] = await Promise.all([
    api("GET", "/me"), api("GET", `/networks/${space.network}`), api("GET", `/spaces/${spaceId}/policy`),
    api("GET", "/policy/parameters"), api("GET", `/spaces/${spaceId}/hierarchy?max_depth=1`),
  ]);
  const isAdmin = me.is_operator || network.my_role === "admin";
  const isFacilitator = space.my_role === "facilitator" && space.my_status === "active";
  const isMember = space.my_status === "active";
  const actions = el("div", { class: "card" });
  actions.append(membershipActions(space, actions));
  const canEdit = isFacilitator || isAdmin;
  const policy_ = policySection(policy, catalogue, canEdit);
  if (!canEdit) {
    // Members mostly come for the conversation: keep the rules one tap away, not in the way.
    const heading = policy_.querySelector("h2");
    const fold = el("details", {}, el("summary", {}, heading.textContent));
    heading.remove();
    fold.append(...policy_.childNodes);
    policy_.replaceChildren(fold);
  }
  const parent = space.parent_id ? await api("GET", `/spaces/${space.parent_id}`).catch(() => null) : null;
  fill(page, header(space, network, parent), actions);
  const names = new Map();
  let members = null;
  if (isMember) {
    members = await api("GET", `/spaces/${spaceId}/members`);
    for (const m of members.items) names.set(m.account_id, m.display_name);
    const canPost = policy.settings["chat.posting"] !== "facilitators" || isFacilitator;
    const { section, room } = chatSection(space, names, canPost, me.id, isFacilitator);
    page.append(section);
    const history = await api("GET", `/spaces/${spaceId}/messages?limit=1`);
    room.lastSeq = Math.max(0, history.head - 50); // show the last 50, then everything new
    if (history.muted) room.showMuted();
    room.connect();
    page.append(await librarySection({ path: `/spaces/${spaceId}/resources`, space: spaceId, heading: "Library", searchable: true }));
  }
  if (canEdit) {
    try {
      const requests = await api("GET", `/spaces/${spaceId}/requests`);
      const section = requestsSection(requests, actions);
      if (section) page.append(section);
    } catch { /* not allowed to see requests: nothing to show */ }
  }
  if (isMember || canEdit) {
    try {
      const [meetings, checkIns] = await Promise.all([
        api("GET", `/spaces/${spaceId}/meetings`),
        api("GET", `/spaces/${spaceId}/check-ins`).catch(() => ({ items: [] })),
      ]);
      page.append(meetingsSection(spaceId, meetings, { isMember, checkIns: checkIns.items }));
    } catch { /* not allowed to see the schedule: nothing to show */ }
  }
  page.append(policy_, subspacesSection(space, hierarchy, canEdit));
  if (isAdmin) page.append(shareForm(space, await api("GET", "/networks")));
  if (canEdit) page.append(await emailInvitationsSection(space));
  if (isAdmin) page.append(archiveSection(space));
  if (members) page.append(membersSection(members));
}

main();
