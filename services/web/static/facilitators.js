// The network's "Facilitators" section (admins): training status, spaces run, training records, compensation.
import { act, api, el, say, showApiError } from "/static/app.js";

const TRAINING = { current: "trained", expired: "training expired", none: "no training recorded" };

export async function facilitatorsSection(slug) {
  const area = el("section", { class: "card", id: "facilitators", "aria-labelledby": "facilitators-title" });
  const body = el("div", {});
  async function render() {
    const list = (await api("GET", `/networks/${slug}/facilitators`)).items;
    body.replaceChildren(list.length ? el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "Facilitator"), el("th", {}, "Training"), el("th", {}, "Spaces"), el("th", {}, "Paid"))),
      el("tbody", {}, list.map((f) => {
        const paid = el("input", { type: "checkbox", checked: f.compensated, "aria-label": `${f.display_name} is paid to facilitate` });
        paid.addEventListener("change", async () => {
          try {
            await api("PUT", `/networks/${slug}/compensation/${f.account_id}`, { compensated: paid.checked });
            say(area, "success", "Saved.");
          } catch (err) {
            paid.checked = !paid.checked;
            say(area, "error", err.message);
          }
        });
        const course = el("input", { maxlength: 200, placeholder: "course", "aria-label": `Course ${f.display_name} completed` });
        const done = el("input", { type: "date", "aria-label": `Date ${f.display_name} completed it` });
        const expires = el("input", { type: "date", "aria-label": `When ${f.display_name}'s training expires` });
        const record = el("button", { type: "button", class: "small" }, "Record training");
        record.addEventListener("click", async () => {
          const body_ = { account_id: f.account_id, course: course.value, completed_on: done.value };
          if (expires.value) body_.expires_on = expires.value;
          try {
            record.disabled = true;
            await api("POST", `/networks/${slug}/trainings`, body_);
            await render();
          } catch (err) {
            showApiError(area, err);
          } finally {
            record.disabled = false;
          }
        });
        return el("tr", {},
          el("td", {}, f.display_name, f.outside ? el("span", { class: "badge" }, " outside the network") : null,
            el("div", { class: "small muted" }, f.email)),
          el("td", {}, TRAINING[f.training],
            f.trainings.length ? el("ul", { class: "small" }, f.trainings.map((t) =>
              el("li", {}, `${t.course}, ${t.completed_on}${t.expires_on ? ` (until ${t.expires_on})` : ""}`))) : null,
            el("details", { class: "small" }, el("summary", {}, "record a training"), course, done, expires, record)),
          el("td", {}, el("ul", {}, f.spaces.map((s) => el("li", {}, el("a", { href: `/spaces/${s.id}` }, s.name))))),
          el("td", {}, paid));
      })))
      : el("p", { class: "muted" }, "Nobody facilitates a space of this network yet."));
  }
  area.append(el("h2", { id: "facilitators-title" }, "Facilitators"),
    el("p", { class: "small muted" }, "Training counts for the facilitators.trained rules until it expires. Who is paid is visible to admins only."),
    body);
  try {
    await render();
  } catch (err) {
    say(area, "error", err.message);
  }
  return area;
}
