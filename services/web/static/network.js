// A network: its spaces as a tree; for admins also new spaces, templates (with dry runs) and compliance.
import {
  JOIN_MODES, KINDS, act, api, describeBound, el, fill, label, linkify, say, showApiError,
} from "/static/app.js";
import { directorySection, publicDirectoryAdmin } from "/static/directory.js";
import { facilitatorsSection } from "/static/facilitators.js";
import { proposalsSection } from "/static/proposals.js";

const page = document.getElementById("page");
const slug = page.dataset.slug;

function tree(items) {
  const children = new Map();
  for (const item of items) {
    const key = item.parent_id || "root";
    if (!children.has(key)) children.set(key, []);
    children.get(key).push(item);
  }
  const known = new Set(items.map((i) => i.id));
  const build = (key) => el("ul", { class: "tree" }, (children.get(key) || []).map((s) => el("li", {},
    el("a", { href: `/spaces/${s.id}` }, s.name), " ",
    el("span", { class: "badge" }, s.kind), " ",
    s.visibility === "unlisted" ? el("span", { class: "badge warn" }, "unlisted") : null, " ",
    s.my_role ? el("span", { class: "small muted" }, s.my_role === "facilitator" ? "you facilitate" : "you're a member") : null,
    children.has(s.id) ? build(s.id) : null)));
  // Spaces whose parent is hidden from this viewer still show, at the top level.
  for (const item of items) if (item.parent_id && !known.has(item.parent_id)) {
    children.get("root") ? children.get("root").push(item) : children.set("root", [item]);
  }
  return build("root");
}

function createSpaceForm(spaces, roster, me, isAdmin) {
  const area = el("section", { class: "card", id: "create-space" });
  const params = new URLSearchParams(location.search);
  const name = el("input", { id: "sname", required: true, maxlength: 200 });
  const description = el("textarea", { id: "sdesc", rows: 2, maxlength: 4000 });
  const kind = el("select", { id: "skind" }, Object.entries(KINDS).map(([k, t]) => el("option", { value: k }, t)));
  // Offer only what the server allows: the top level to admins, otherwise spaces the viewer facilitates.
  const parent = el("select", { id: "sparent" }, isAdmin ? el("option", { value: "" }, "— top level of the network —") : null,
    spaces.filter((s) => isAdmin || s.my_role === "facilitator").map((s) => el("option", { value: s.id, selected: params.get("parent") === s.id }, `${"· ".repeat(s.depth)}${s.name}`)));
  const join = el("select", { id: "sjoin" }, Object.entries(JOIN_MODES).map(([k, t]) => el("option", { value: k }, t)));
  const visibility = el("select", { id: "svis" },
    el("option", { value: "listed" }, "Listed — shown in the network's directory"),
    el("option", { value: "unlisted" }, "Unlisted — only members and admins see it"));
  const people = roster ? roster.items : [];
  const picks = people.map((p) => {
    const box = el("input", { type: "checkbox", value: p.account_id, checked: p.account_id === me.id });
    return { box, node: el("label", { class: "inline" }, box, " ", p.display_name, " ", el("span", { class: "hint" }, p.role)) };
  });
  const facilitators = picks.length
    ? el("fieldset", {}, el("legend", {}, "Facilitators ", el("span", { class: "hint" }, "(your network's rules may ask for two or more)")),
      picks.map((p) => p.node))
    : null;
  const button = el("button", { type: "submit" }, "Create space");
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      try {
        const body = { name: name.value.trim(), kind: kind.value, join_mode: join.value, visibility: visibility.value,
          description: description.value.trim() };
        if (parent.value) body.parent_id = parent.value;
        const chosen = picks.filter((p) => p.box.checked).map((p) => p.box.value);
        if (picks.length) body.facilitators = chosen;
        const created = await api("POST", `/networks/${slug}/spaces`, body);
        window.location.assign(`/spaces/${created.id}`);
      } catch (err) {
        showApiError(area, err);
      } finally {
        button.disabled = false;
      }
    },
  },
  el("label", { for: "sname" }, "Space name"), name,
  el("label", { for: "sdesc" }, "What it is for ", el("span", { class: "hint" }, "(optional)")), description,
  el("label", { for: "skind" }, "Kind"), kind,
  el("label", { for: "sparent" }, "Inside"), parent,
  el("label", { for: "sjoin" }, "How people join this space"), join,
  el("label", { for: "svis" }, "Visibility"), visibility,
  facilitators,
  el("p", {}, button));
  const open = spaces.length === 0 || location.hash === "#create-space";
  area.append(el("details", { open },
    el("summary", {}, "Create a space"),
    el("p", { class: "muted small" }, "The network's templates apply automatically; if a choice is outside them, you will be told which rule and who set it."),
    form));
  return area;
}

function ruleRow(parameter) {
  const id = `rule-${parameter.name}`;
  const on = el("input", { type: "checkbox", id, class: "rule-on" });
  const inputs = el("span", { class: "row" });
  let read;
  if (parameter.type === "integer" || parameter.type === "duration") {
    const min = el("input", { type: "number", min: 0, placeholder: "at least", "aria-label": `${label(parameter.name)}: at least`, class: "short" });
    const max = el("input", { type: "number", min: 0, placeholder: "at most", "aria-label": `${label(parameter.name)}: at most`, class: "short" });
    if (parameter.type === "integer") inputs.append(min);
    inputs.append(max);
    read = () => {
      const c = {};
      if (min.value !== "" && parameter.type === "integer") c.min = Number(min.value);
      if (max.value !== "") c.max = Number(max.value);
      return c;
    };
  } else if (parameter.type === "choice") {
    const boxes = (parameter.choices || []).map((choice) => {
      const box = el("input", { type: "checkbox", value: choice, checked: true });
      inputs.append(el("label", { class: "inline small" }, box, " ", choice));
      return box;
    });
    read = () => ({ allowed: boxes.filter((b) => b.checked).map((b) => b.value) });
  } else if (parameter.type === "flag") {
    const value = el("select", { "aria-label": `${label(parameter.name)}: fixed value` },
      el("option", { value: "true" }, "must be yes"), el("option", { value: "false" }, "must be no"));
    inputs.append(value);
    read = () => ({ locked: true, value: value.value === "true" });
  } else {
    const text = el("input", { placeholder: "quote, story, reflection", "aria-label": `${label(parameter.name)}: required items` });
    inputs.append(text);
    read = () => ({ required: text.value.split(",").map((s) => s.trim()).filter(Boolean) });
  }
  const row = el("tr", {},
    el("td", {}, on, " ", el("label", { for: id, class: "inline" }, label(parameter.name)),
      el("div", { class: "hint" }, parameter.description || "")),
    el("td", {}, inputs));
  return { row, name: parameter.name, isOn: () => on.checked, read };
}

function templatesSection(templates, catalogue) {
  const area = el("section", { class: "card", id: "templates" });
  const list = templates.items.length
    ? el("ul", {}, templates.items.map((t) => templateItem(t, area)))
    : el("p", { class: "muted" }, "No templates yet. A template sets the basic structure every space must keep.");
  const rows = catalogue.items.map(ruleRow);
  const name = el("input", { id: "tname", required: true, maxlength: 200, placeholder: "Basic structure" });
  const mode = el("select", { id: "tmode" },
    el("option", { value: "enforce" }, "Enforce — refuse changes outside the rules"),
    el("option", { value: "warn" }, "Warn — allow, but show a warning"),
    el("option", { value: "audit" }, "Audit — only record, to see the effect first"));
  const button = el("button", { type: "submit" }, "Create template");
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const constraints = {};
      for (const r of rows) if (r.isOn()) constraints[r.name] = r.read();
      const created = await act(button, area,
        () => api("POST", `/networks/${slug}/templates`, { name: name.value.trim(), mode: mode.value, constraints }),
        "Template created. Apply it to the network (below) to make it count.");
      if (created) setTimeout(() => location.reload(), 900);
    },
  },
  el("label", { for: "tname" }, "Template name"), name,
  el("label", { for: "tmode" }, "Mode"), mode,
  el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Rule"), el("th", {}, "Bound"))), el("tbody", {}, rows.map((r) => r.row))),
  el("p", {}, button));
  area.append(el("h2", {}, "Templates (the basic structure)"), list,
    el("details", {}, el("summary", {}, "New template"), form));
  return area;
}

function templateItem(template, area) {
  const rules = Object.entries(template.constraints).map(([p, c]) => el("li", {}, `${label(p)}: ${describeBound(c)}`));
  const apply = el("button", { class: "secondary", type: "button" }, template.attached_to_network ? "Applied to the whole network" : "Apply to the whole network…");
  apply.disabled = template.attached_to_network;
  apply.addEventListener("click", async () => {
    const report = await act(apply, area, () => api("PUT", `/networks/${slug}/templates/${template.id}/attach?dry_run=true`));
    if (!report) return;
    let body;
    if (report.out_of_bounds > 0) {
      const names = report.spaces.map((s) => s.name || s.space_id).join(", ");
      const deadline = prompt(`${report.out_of_bounds} space(s) would be outside these rules: ${names}.\n\nTo apply anyway, mark them non-compliant with a deadline (YYYY-MM-DD). Their settings will not be changed.`);
      if (!deadline) return;
      body = { mark_noncompliant: { deadline } };
    } else if (!confirm(`Checked ${report.checked} space(s): none would break. Apply “${template.name}” to every space of the network?`)) {
      return;
    }
    const done = await act(apply, area, () => api("PUT", `/networks/${slug}/templates/${template.id}/attach`, body), "Template applied.");
    if (done) setTimeout(() => location.reload(), 900);
  });
  return el("li", {},
    el("strong", {}, template.name), " ", el("span", { class: "badge" }, template.mode), " ",
    el("span", { class: "small muted" }, `version ${template.version}`),
    el("ul", {}, rules), apply);
}

function peopleSection(roster, me) {
  const area = el("section", { class: "card", id: "people" });
  const roles = ["member", "facilitator", "admin"];
  const rows = roster.items.map((p) => {
    const select = el("select", { "aria-label": `Role of ${p.display_name}`, disabled: p.account_id === me.id },
      roles.map((r) => el("option", { value: r, selected: r === p.role }, r)));
    select.addEventListener("change", async () => {
      const done = await act(select, area, () => api("PUT", `/networks/${slug}/members/${p.account_id}`, { role: select.value }),
        `${p.display_name} is now ${select.value}.`);
      if (!done) select.value = p.role;
      else p.role = select.value;
    });
    const remove = p.account_id === me.id ? null : el("button", { type: "button", class: "link small" }, "remove");
    if (remove) {
      remove.addEventListener("click", async () => {
        if (!confirm(`Remove ${p.display_name} from the network? They leave all its spaces at once.`)) return;
        const done = await act(remove, area, () => api("DELETE", `/networks/${slug}/members/${p.account_id}`), `${p.display_name} was removed.`);
        if (done) remove.closest("tr").remove();
      });
    }
    return el("tr", {}, el("td", {}, p.display_name), el("td", { class: "small muted" }, p.email), el("td", {}, select, " ", remove));
  });
  const email = el("input", { id: "add-email", type: "email", required: true, placeholder: "colleague@district.org" });
  const role = el("select", { id: "add-role" }, roles.map((r) => el("option", { value: r }, r)));
  const add = el("button", { type: "submit" }, "Add to network");
  const addForm = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const done = await act(add, area, () => api("POST", `/networks/${slug}/members`, { email: email.value.trim(), role: role.value }),
        "Added. They can now see this network and its spaces.");
      if (done) setTimeout(() => location.reload(), 900);
    },
  }, el("label", { for: "add-email" }, "Add a person by e-mail ", el("span", { class: "hint" }, "(they must have signed in once)")),
  email, el("label", { for: "add-role" }, "Role"), role, el("p", {}, add));
  area.append(el("h2", {}, `People (${roster.items.length})`),
    el("p", { class: "small muted" }, "People join a network by signing in through its provider, or when an admin adds them. Admins manage templates and spaces; facilitators run spaces."),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", {}, "E-mail"), el("th", {}, "Role"))), el("tbody", {}, rows)),
    el("details", {}, el("summary", {}, "Add a person"), addForm));
  return area;
}

function sharesSection(shares) {
  const area = el("section", { class: "card", id: "shares" });
  const incoming = shares.items.filter((x) => x.direction === "incoming");
  const outgoing = shares.items.filter((x) => x.direction === "outgoing");
  const decide = (share, verb, button, text) => async () => {
    const path = verb === "end" ? `/shares/${share.id}` : `/networks/${slug}/shares/${share.id}/${verb}`;
    const done = await act(button, area, () => api(verb === "end" ? "DELETE" : "POST", path, verb === "accept" ? {} : undefined), text);
    if (done !== undefined) setTimeout(() => location.reload(), 800);
  };
  const row = (share) => {
    const other = share.direction === "incoming" ? share.host_network : share.guest_network;
    const buttons = [];
    if (share.direction === "incoming" && share.status === "pending") {
      const accept = el("button", { type: "button" }, "Accept");
      accept.addEventListener("click", decide(share, "accept", accept, "Accepted: your members can now join this space."));
      const decline = el("button", { type: "button", class: "secondary" }, "Decline");
      decline.addEventListener("click", decide(share, "decline", decline, "Declined."));
      buttons.push(accept, decline);
    }
    if (share.status === "active" || (share.status === "pending" && share.direction === "outgoing")) {
      const end = el("button", { type: "button", class: "secondary" }, share.status === "active" ? "End sharing" : "Withdraw offer");
      end.addEventListener("click", () => {
        if (share.status === "active" && !confirm("End this share? Guests lose access at once; the space's history stays with the host.")) return;
        decide(share, "end", end, "Done.")();
      });
      buttons.push(end);
    }
    return el("li", { class: "row" },
      el("span", {}, el("strong", {}, share.space_name), share.include_subspaces ? " and the spaces inside it" : "",
        share.direction === "incoming" ? ` — offered by ${other}` : ` — shared with ${other}`, " "),
      el("span", { class: `badge ${share.status === "active" ? "ok" : share.status === "pending" ? "warn" : ""}` }, share.status),
      share.message ? el("span", { class: "small muted" }, `“${share.message}”`) : null,
      buttons);
  };
  area.append(el("h2", {}, "Sharing with other networks"),
    el("p", { class: "small muted" }, "A network can invite your members into one of its spaces, and you can share yours. Each network stays independent; either side can end a share."),
    el("h3", {}, "Offered to this network"),
    incoming.length ? el("ul", {}, incoming.map(row)) : el("p", { class: "muted small" }, "No offers."),
    el("h3", {}, "Shared by this network"),
    outgoing.length ? el("ul", {}, outgoing.map(row)) : el("p", { class: "muted small" }, "Nothing shared yet. Open a space to share it."));
  return area;
}

function complianceSection(report) {
  const badge = { compliant: "ok", warning: "warn", non_compliant: "bad" };
  return el("section", { class: "card", id: "compliance" },
    el("h2", {}, `Compliance, program year ${report.year.label}`),
    el("p", {}, `${report.counts.compliant || 0} compliant · ${report.counts.warning || 0} with warnings · ${report.counts.non_compliant || 0} not compliant`),
    report.meetings_tracked ? null : el("p", { class: "small muted" }, "Meeting schedules are not tracked yet, so meeting counts are not checked."),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Space"), el("th", {}, "Status"), el("th", {}, "Why"))),
      el("tbody", {}, report.spaces.map((s) => el("tr", {},
        el("td", {}, el("a", { href: `/spaces/${s.space_id}` }, s.name)),
        el("td", {}, el("span", { class: `badge ${badge[s.status] || ""}` }, s.status.replace("_", " ")),
          s.deadline ? el("div", { class: "small muted" }, `deadline ${s.deadline}${s.overdue ? " (overdue)" : ""}`) : null),
        el("td", {}, s.findings.length ? el("ul", {}, s.findings.map((f) => el("li", { class: "small" }, f.message))) : "—"))))));
}

async function main() {
  let network;
  let directory;
  try {
    network = await api("GET", `/networks/${slug}`);
  } catch (err) {
    fill(page, el("h1", {}, "Network not found"));
    say(page, "error", err.message);
    return;
  }
  try {
    directory = await api("GET", `/networks/${slug}/spaces`);
  } catch (err) {
    // A guest (a space shared with their network) or an outside facilitator: one clear message.
    fill(page, el("h1", {}, network.name),
      el("p", {}, `${network.name} hosts spaces you take part in; its other spaces are for its own members.`),
      el("p", {}, el("a", { href: "/" }, "Back to My spaces")));
    return;
  }
  document.title = `${network.name} · Affinity Federation`;
  const me = await api("GET", "/me");
  const isAdmin = network.my_role === "admin" || me.is_operator;
  fill(page,
    el("h1", {}, network.name),
    el("p", { class: "muted" }, `${network.kind} · ${network.my_role ? `your role: ${network.my_role}` : "you are not a member of this network"}`),
    network.description ? el("p", { class: "description" }, linkify(network.description)) : null,
    el("p", {}, el("a", { href: `/networks/${slug}/library`, id: "network-library-link" }, "Resource library")),
    el("h2", {}, "Spaces"),
    directory.items.length ? tree(directory.items) : el("p", { class: "muted" }, "No spaces yet."));
  const canSeePeople = isAdmin || network.my_role === "facilitator";
  const roster = canSeePeople ? await api("GET", `/networks/${slug}/members`) : null;
  const facilitates = directory.items.some((s) => s.my_role === "facilitator");
  if (isAdmin || (canSeePeople && facilitates)) page.append(createSpaceForm(directory.items, roster, me, isAdmin));
  if (network.my_role || me.is_operator) page.append(directorySection(slug));
  if (network.my_role || me.is_operator) page.append(await proposalsSection(slug, directory.items, roster, me, isAdmin));
  if (isAdmin) page.append(await publicDirectoryAdmin(slug, directory.items), await facilitatorsSection(slug));
  if (isAdmin) {
    const [templates, catalogue, compliance, shares] = await Promise.all([
      api("GET", `/networks/${slug}/templates`), api("GET", "/policy/parameters"), api("GET", `/networks/${slug}/compliance`),
      api("GET", `/networks/${slug}/shares`),
    ]);
    page.append(templatesSection(templates, catalogue), sharesSection(shares), complianceSection(compliance),
      peopleSection(roster, me));
    page.append(el("p", { class: "card" }, el("a", { href: `/networks/${slug}/insights` }, "Insights: engagement by program year and kind")));
  }
}

main();
