// Home: your networks and spaces; operators can create a network.
import { KINDS, act, api, el, fill, say } from "/static/app.js";
import { facilitationRequestsSection, invitationsSection, notificationsSection, profileSection } from "/static/growing.js";

const page = document.getElementById("page");

function networkCard(network) {
  return el("article", { class: "card" },
    el("h3", {}, el("a", { href: `/networks/${network.slug}` }, network.name)),
    el("p", { class: "small muted" }, `Your role: ${network.role}`));
}

function spaceItem(space, mySlugs) {
  const role = space.role || space.my_role;
  const unread = space.unread || 0;
  return el("li", {},
    el("a", { href: `/spaces/${space.id}` }, space.name), " ",
    // A guest's shared space: say which network hosts it.
    mySlugs && !mySlugs.has(space.network) ? el("span", { class: "small muted" }, `hosted by ${space.network} `) : null,
    unread ? el("span", { class: "badge unread", title: "Unread chat messages" },
      unread >= 100 ? "99+ new" : `${unread} new`) : null, " ",
    el("span", { class: "badge" }, space.kind), " ",
    role ? el("span", { class: "small muted" }, role === "facilitator" ? "you facilitate" : "member") : null);
}

function createNetworkForm() {
  const area = el("section", { class: "card" });
  const slug = el("input", { id: "nslug", name: "slug", required: true, pattern: "[a-z0-9-]{2,40}", placeholder: "kent-sd" });
  const name = el("input", { id: "nname", name: "name", required: true, maxlength: 200, placeholder: "Kent School District" });
  const kind = el("select", { id: "nkind", name: "kind" },
    ["district", "esd", "association", "school", "other"].map((k) => el("option", { value: k }, k)));
  const button = el("button", { type: "submit" }, "Create network");
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const created = await act(button, area, () => api("POST", "/networks", { slug: slug.value.trim(), name: name.value.trim(), kind: kind.value }));
      if (created) window.location.assign(`/networks/${created.slug}`);
    },
  },
  el("label", { for: "nname" }, "Name"), name,
  el("label", { for: "nslug" }, "Short name for addresses ", el("span", { class: "hint" }, "(lower-case letters, digits and hyphens)")), slug,
  el("label", { for: "nkind" }, "Kind"), kind, el("p", {}, button));
  area.append(el("h2", {}, "Create a network"), el("p", { class: "muted small" }, "As a federation operator you can add a network; then make someone its admin."), form);
  return area;
}

async function main() {
  let me;
  try {
    me = await api("GET", "/me");
  } catch (err) {
    say(page, "error", err.message);
    return;
  }
  const spaces = me.spaces || [];
  const [invitations, asked, notifications] = await Promise.all([
    invitationsSection(), facilitationRequestsSection(), notificationsSection()]);
  fill(page,
    el("p", {}, `Signed in as ${me.display_name}.`),
    invitations,
    asked,
    el("h2", {}, "Your networks"),
    me.networks.length
      ? el("div", { class: "grid" }, me.networks.map(networkCard))
      : el("p", { class: "muted" }, "You are not in any network yet. Ask your network's admin to add you, or sign in through your district."),
    el("h2", {}, "My spaces"),
    spaces.length
      ? el("ul", {}, spaces.map((s) => spaceItem(s, new Set(me.networks.map((n) => n.slug)))))
      : el("p", { class: "muted" }, "You have not joined a space yet. Open a network above to see the spaces you can join."),
    el("details", { class: "small" }, el("summary", {}, "What the kinds of space mean"),
      el("ul", {}, Object.entries(KINDS).map(([k, text]) => el("li", {}, el("strong", {}, k), ": ", text)))),
    notifications,
    profileSection(me),
    me.is_operator ? createNetworkForm() : null);
}

main();
