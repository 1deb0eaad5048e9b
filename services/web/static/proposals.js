// A network's proposals: any member proposes a group; admins ask, approve or decline; proposers see where theirs stand.
import { KINDS, act, api, el, say, showApiError } from "/static/app.js";

const STATUS = {
  pending: "waiting for the admins",
  question: "the admins asked a question",
  approved: "approved",
  declined: "declined",
  withdrawn: "withdrawn",
};

function proposeForm(slug, spaces, roster, me, area, refresh) {
  const name = el("input", { id: "pname", required: true, maxlength: 200 });
  const purpose = el("textarea", { id: "ppurpose", rows: 3, maxlength: 4000, required: true });
  const kind = el("select", { id: "pkind" }, Object.entries(KINDS).map(([k, t]) => el("option", { value: k }, t)));
  const parent = el("select", { id: "pparent" }, el("option", { value: "" }, "— top level of the network —"),
    spaces.map((s) => el("option", { value: s.id }, `${"· ".repeat(s.depth)}${s.name}`)));
  const facilitate = el("input", { type: "checkbox", id: "pfac", checked: true });
  const people = roster ? roster.items.filter((p) => p.account_id !== me.id) : [];
  const picks = people.map((p) => {
    const box = el("input", { type: "checkbox", value: p.account_id });
    return { box, node: el("label", { class: "inline" }, box, " ", p.display_name) };
  });
  const button = el("button", { type: "submit" }, "Send the proposal");
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      try {
        const body = { name: name.value, kind: kind.value, purpose: purpose.value, i_will_facilitate: facilitate.checked,
          facilitators: picks.filter((p) => p.box.checked).map((p) => p.box.value) };
        if (parent.value) body.parent_id = parent.value;
        await api("POST", `/networks/${slug}/proposals`, body);
        form.reset();
        say(area, "success", "Thank you: the network's admins will look at your proposal. Its status shows below.");
        await refresh();
      } catch (err) {
        showApiError(area, err);
      } finally {
        button.disabled = false;
      }
    },
  },
  el("label", { for: "pname" }, "Name of the group"), name,
  el("label", { for: "ppurpose" }, "What it is for, and who it is for"), purpose,
  el("label", { for: "pkind" }, "Kind"), kind,
  el("label", { for: "pparent" }, "Where it would sit"), parent,
  el("label", { class: "inline" }, facilitate, " I would facilitate it"),
  picks.length ? el("fieldset", {}, el("legend", {}, "Others who would facilitate"), picks.map((p) => p.node)) : null,
  el("p", {}, button));
  return el("details", {}, el("summary", {}, "Propose a group"),
    el("p", { class: "muted small" }, "Have an idea for a group that is not here yet? Describe it; the network's admins decide."),
    form);
}

function adminActions(slug, p, area, refresh) {
  if (p.status !== "pending" && p.status !== "question") return null;
  const text = el("input", { "aria-label": `Question or reason for ${p.name}`, maxlength: 2000, placeholder: "a question, or the reason for declining" });
  const step = (path, body, message) => async (event) => {
    const done = await act(event.target, area, () => api("POST", `/networks/${slug}/proposals/${p.id}/${path}`, body()), message);
    if (done) await refresh();
    event.target.disabled = false;
  };
  return el("p", { class: "row" }, text,
    el("button", { type: "button", onclick: step("question", () => ({ question: text.value }), "Question sent.") }, "Ask"),
    el("button", { type: "button", onclick: step("approve", () => ({}), "Approved: the space exists now.") }, `Approve ${p.name}`),
    el("button", { type: "button", class: "secondary", onclick: step("decline", () => ({ reason: text.value }), "Declined.") }, "Decline"));
}

function proposerActions(slug, p, area, refresh) {
  if (p.status !== "question") return null;
  const text = el("input", { "aria-label": "Your answer", maxlength: 2000 });
  const send = el("button", { type: "button" }, "Answer");
  send.addEventListener("click", async () => {
    const done = await act(send, area, () => api("POST", `/networks/${slug}/proposals/${p.id}/answer`, { answer: text.value }), "Answer sent.");
    if (done) await refresh();
    send.disabled = false;
  });
  return el("p", { class: "row" }, text, send);
}

const ANSWER = { pending: "not answered yet", accepted: "agreed", declined: "declined" };

/** Who of the proposed facilitators agreed (nobody facilitates without agreeing). */
function facilitatorAnswers(p) {
  const answers = p.facilitator_answers || [];
  if (!answers.length) return null;
  return el("p", { class: "small facilitator-answers" }, "Proposed facilitators: ",
    answers.map((a, i) => `${i ? ", " : ""}${a.display_name} (${ANSWER[a.answer]})`).join(""));
}

/** The "Proposals" section of a network page. */
export async function proposalsSection(slug, spaces, roster, me, isAdmin) {
  const area = el("section", { class: "card", id: "proposals", "aria-labelledby": "proposals-title" });
  const list = el("div", {});
  async function refresh() {
    let items;
    try {
      items = (await api("GET", `/networks/${slug}/proposals`)).items;
    } catch (err) {
      say(area, "error", err.message);
      return;
    }
    list.replaceChildren(items.length
      ? el("ul", {}, items.map((p) => el("li", { class: "proposal" },
        el("strong", {}, p.name), ` (${p.kind}) — ${STATUS[p.status]}`,
        isAdmin ? el("span", { class: "small muted" }, ` · proposed by ${p.proposer_name}`) : null,
        el("p", { class: "small" }, p.purpose),
        p.question ? el("p", { class: "small" }, `Question: ${p.question}`) : null,
        p.answer ? el("p", { class: "small" }, `Answer: ${p.answer}`) : null,
        p.reason ? el("p", { class: "small" }, `Reason: ${p.reason}`) : null,
        facilitatorAnswers(p),
        p.space_id ? el("p", {}, el("a", { href: `/spaces/${p.space_id}` }, "Open the new space")) : null,
        isAdmin ? adminActions(slug, p, area, refresh) : proposerActions(slug, p, area, refresh))))
      : el("p", { class: "muted" }, isAdmin ? "No proposals yet." : "You have not proposed a group here yet."));
  }
  await refresh();
  area.append(el("h2", { id: "proposals-title" }, isAdmin ? "Proposals for new groups" : "Your proposals"),
    proposeForm(slug, spaces, roster, me, area, refresh), list);
  return area;
}
