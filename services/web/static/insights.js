// A network's insights (admins): per program year and space kind, small cells suppressed. The
// charts are SVG drawn by the server (images: no script runs in them); the tables show the same
// figures, "fewer than 10" where a figure is hidden.
import { api, el, fill, say, showApiError } from "/static/app.js";

const page = document.getElementById("page");
const slug = page.dataset.slug;
const KIND_LABELS = { identity: "Identity", role: "Role", topic: "Topic", cohort: "Cohort" };

function cell(figure) {
  return el("td", { class: figure.suppressed ? "suppressed muted" : "number" }, figure.display);
}

function metricSection(insights, metric) {
  const base = `/api/v1/networks/${encodeURIComponent(slug)}/insights/charts`;
  return el("section", { class: "card metric", id: `metric-${metric.name}` },
    el("h2", {}, metric.label),
    el("div", { class: "charts" },
      el("img", { class: "chart", src: `${base}/trend-${metric.name}.svg`, alt: `${metric.label}: the network each year`, width: 640, height: 280 }),
      el("img", { class: "chart", src: `${base}/kinds-${metric.name}.svg`, alt: `${metric.label}: by kind of space, latest year`, width: 640, height: 280 })),
    el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "Program year"), insights.kinds.map((k) => el("th", {}, KIND_LABELS[k] || k)), el("th", {}, "All"))),
      el("tbody", {}, metric.rows.map((r) => el("tr", {},
        el("th", { scope: "row" }, r.year), insights.kinds.map((k) => cell(r.by_kind[k])), cell(r.total))))));
}

function staffSection(insights) {
  const section = el("section", { class: "card", id: "staff" }, el("h2", {}, "Staff figures"),
    el("p", { class: "small muted" }, "The network's own yearly totals (for example, number of BIPOC staff and how many were retained)."));
  if (insights.staff.length) {
    section.append(el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "Program year"), el("th", {}, "Staff"), el("th", {}, "Retained"))),
      el("tbody", {}, insights.staff.map((s) => el("tr", {}, el("th", { scope: "row" }, s.year), cell(s.staff_total), cell(s.staff_retained))))));
  }
  const year = el("input", { id: "staff-year", value: insights.years[insights.years.length - 1].label, maxlength: 7 });
  const total = el("input", { id: "staff-total", type: "number", min: 0 });
  const retained = el("input", { id: "staff-retained", type: "number", min: 0 });
  const save = el("button", { type: "submit" }, "Save staff figures");
  section.append(el("details", {}, el("summary", {}, "Enter staff figures"), el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      save.disabled = true;
      try {
        await api("PUT", `/networks/${slug}/insights/staff`, {
          year: year.value.trim(), staff_total: Number(total.value), staff_retained: Number(retained.value),
        });
        say(section, "success", "Staff figures saved.");
        setTimeout(() => location.reload(), 800);
      } catch (err) {
        showApiError(section, err);
      } finally {
        save.disabled = false;
      }
    },
  },
  el("label", { for: "staff-year" }, "Program year (e.g. 2026-27)"), year,
  el("label", { for: "staff-total" }, "Staff in the group counted"), total,
  el("label", { for: "staff-retained" }, "Of them, retained"), retained,
  el("p", {}, save))));
  return section;
}

async function main() {
  let insights;
  try {
    insights = await api("GET", `/networks/${slug}/insights`);
  } catch (err) {
    fill(page, el("h1", {}, "Insights"));
    showApiError(page, err);
    return;
  }
  document.title = `Insights · ${slug} · Affinity Federation`;
  const years = insights.years;
  fill(page,
    el("p", { class: "small" }, el("a", { href: `/networks/${slug}` }, "Back to the network")),
    el("h1", {}, "Insights"),
    el("p", {}, `Program years ${years[0].label} to ${years[years.length - 1].label}, by kind of space (times in ${insights.time_zone}). `,
      el("a", { href: `/api/v1/networks/${encodeURIComponent(slug)}/insights/export.csv`, download: `${slug}-insights.csv` }, "Download as CSV")),
    el("ul", { class: "small muted notes" }, insights.notes.map((n) => el("li", {}, n))),
    insights.metrics.map((m) => metricSection(insights, m)),
    staffSection(insights));
}

main();
