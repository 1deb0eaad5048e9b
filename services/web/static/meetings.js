// A space's meetings on its page: the schedule (single meetings and occurrences of recurring
// ones) in each meeting's own time zone, scheduling (once or repeating), editing, cancelling,
// skipping one occurrence, self check-in (members; counts for facilitators, never names), and
// the member's calendar-feed link.
import { api, el, say, showApiError } from "/static/app.js";

const COMMON_COMPONENTS = ["quote", "story", "reflection"];
const MEETING_KINDS = { virtual: "Virtual", in_person: "In person" };
const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
const ORDINALS = ["", "first", "second", "third", "fourth", "last"];

/** "Tue, Oct 13, 2026, 4:00 PM PDT (America/Los_Angeles)": the time where the meeting happens. */
function when(item) {
  const text = new Date(item.starts_at).toLocaleString(undefined, {
    weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "numeric", minute: "2-digit", timeZone: item.time_zone,
  });
  return `${text} ${item.zone_abbreviation} (${item.time_zone})`;
}

/** The wall-clock part of an ISO time with offset, for a datetime-local input. */
function wallClock(isoWithOffset) {
  return isoWithOffset.slice(0, 16);
}

async function run(section, button, work, message) {
  button.disabled = true;
  try {
    await work();
    say(section, "success", message);
    setTimeout(() => location.reload(), 800);
  } catch (err) {
    showApiError(section, err);
  } finally {
    button.disabled = false;
  }
}

function editForm(spaceId, m, section) {
  const title = el("input", { maxlength: 200, value: m.title, "aria-label": `New title for ${m.title}` });
  const starts = el("input", { type: "datetime-local", value: wallClock(m.starts_at_local), "aria-label": `New start for ${m.title}` });
  const duration = el("input", { type: "number", min: 5, max: 1440, value: m.duration_minutes, "aria-label": `New length for ${m.title}` });
  const save = el("button", { type: "submit" }, "Save changes");
  const form = el("form", {
    class: "edit",
    onsubmit: (event) => {
      event.preventDefault();
      const body = { title: title.value, duration_minutes: Number(duration.value || m.duration_minutes), time_zone: m.time_zone };
      if (starts.value) body.starts_at = `${starts.value}:00`;
      run(section, save, () => api("PATCH", `/spaces/${spaceId}/meetings/${m.id}`, body), "Meeting changed.");
    },
  },
  el("span", { class: "small" }, `Times in ${m.time_zone}`), title, starts, duration, save);
  return el("details", { class: "inline" }, el("summary", {}, "Edit"), form);
}

function meetingItem(spaceId, m, canManage, section) {
  const where = m.kind === "virtual"
    ? (m.join_url ? el("a", { href: m.join_url, rel: "noopener noreferrer", target: "_blank" }, "Join link") : null)
    : (m.location ? el("span", { class: "small" }, m.location) : null);
  const li = el("li", { class: "meeting" },
    el("strong", {}, m.title), " ",
    el("time", { datetime: m.starts_at }, when(m)), " ",
    el("span", { class: "badge" }, MEETING_KINDS[m.kind] || m.kind), " ",
    el("span", { class: "muted small" }, `${m.duration_minutes} min`), " ",
    where,
    m.components.length ? el("p", { class: "small muted" }, "Agenda: ", m.components.join(", ")) : null);
  if (canManage) {
    const cancel = el("button", { type: "button", class: "secondary" }, "Cancel meeting");
    cancel.addEventListener("click", () => {
      if (!confirm(`Cancel “${m.title}”? Members' calendars will show it as cancelled.`)) return;
      run(section, cancel, () => api("DELETE", `/spaces/${spaceId}/meetings/${m.id}`), "Meeting cancelled.");
    });
    li.append(el("div", { class: "row" }, editForm(spaceId, m, section), cancel));
  }
  return li;
}

function occurrenceItem(spaceId, o, canManage, section) {
  const li = el("li", { class: "meeting occurrence" },
    el("strong", {}, o.title), " ",
    el("time", { datetime: o.starts_at }, when(o)), " ",
    el("span", { class: "badge" }, MEETING_KINDS[o.kind] || o.kind), " ",
    el("span", { class: "badge" }, o.moved ? "moved" : "repeats"));
  if (canManage) {
    const url = `/spaces/${spaceId}/series/${o.series_id}`;
    const skip = el("button", { type: "button", class: "secondary" }, "Skip this one");
    skip.addEventListener("click", () => run(section, skip,
      () => api("PUT", `${url}/exceptions`, { original_start: o.original_start, action: "skip" }), "Occurrence skipped."));
    const stop = el("button", { type: "button", class: "secondary" }, "Cancel the series");
    stop.addEventListener("click", () => {
      if (!confirm(`Cancel every meeting of “${o.title}”?`)) return;
      run(section, stop, () => api("DELETE", url), "Series cancelled.");
    });
    li.append(el("div", { class: "row" }, skip, stop));
  }
  return li;
}

/** The RFC 5545 rule for the form's choice, from the first meeting's local date. */
function ruleFor(repeat, startLocal, until) {
  const [datePart] = startLocal.split("T");
  const [y, mo, d] = datePart.split("-").map(Number);
  const weekday = WEEKDAYS[new Date(Date.UTC(y, mo - 1, d)).getUTCDay()];
  const end = `UNTIL=${until.replaceAll("-", "")}T235959`;
  if (repeat === "weekly") return `FREQ=WEEKLY;${end}`;
  if (repeat === "monthly_weekday") {
    const nth = Math.ceil(d / 7);
    return `FREQ=MONTHLY;BYDAY=${nth >= 5 ? -1 : nth}${weekday};${end}`;
  }
  return `FREQ=MONTHLY;BYMONTHDAY=${d};${end}`;
}

function repeatLabel(startLocal) {
  if (!startLocal) return "Every month, on the same weekday (e.g. the second Tuesday)";
  const d = Number(startLocal.slice(8, 10));
  const day = new Date(`${startLocal.slice(0, 10)}T12:00:00Z`).toLocaleDateString("en", { weekday: "long", timeZone: "UTC" });
  return `Every month, on the ${ORDINALS[Math.min(5, Math.ceil(d / 7))]} ${day}`;
}

function scheduleForm(spaceId, meetings, section) {
  const required = new Set(meetings.required_components);
  const known = [...new Set([...COMMON_COMPONENTS, ...meetings.required_components])];
  const boxes = known.map((c) => {
    const id = `agenda-${c}`;
    const box = el("input", { type: "checkbox", id, value: c, checked: required.has(c) });
    return { box, node: el("label", { for: id, class: "inline" }, box, " ", c, required.has(c) ? el("span", { class: "hint" }, " (required)") : null) };
  });
  const kind = el("select", { id: "meeting-kind" }, Object.entries(MEETING_KINDS).map(([v, text]) => el("option", { value: v }, text)));
  const title = el("input", { id: "meeting-title", maxlength: 200, required: true });
  const starts = el("input", { id: "meeting-starts", type: "datetime-local", required: true });
  const zone = el("input", { id: "meeting-zone", maxlength: 64, value: meetings.time_zone || "UTC" });
  const duration = el("input", { id: "meeting-duration", type: "number", min: 5, max: 1440, value: 60 });
  const monthly = el("option", { value: "monthly_weekday" }, repeatLabel(""));
  const repeat = el("select", { id: "meeting-repeat" },
    el("option", { value: "" }, "Does not repeat"),
    el("option", { value: "weekly" }, "Every week"),
    monthly,
    el("option", { value: "monthly_date" }, "Every month, on the same date"));
  const until = el("input", { id: "meeting-until", type: "date" });
  const untilRow = el("div", { hidden: true }, el("label", { for: "meeting-until" }, "Repeat until"), until);
  repeat.addEventListener("change", () => { untilRow.hidden = !repeat.value; });
  starts.addEventListener("change", () => { monthly.textContent = repeatLabel(starts.value); });
  const place = el("input", { id: "meeting-place", maxlength: 2000, placeholder: "https://…" });
  const placeLabel = el("label", { for: "meeting-place" }, "Join link (members only)");
  kind.addEventListener("change", () => {
    const virtual = kind.value === "virtual";
    placeLabel.textContent = virtual ? "Join link (members only)" : "Location";
    place.placeholder = virtual ? "https://…" : "Where you meet";
  });
  const extra = el("input", { id: "meeting-extra", placeholder: "check-in, closing" });
  const button = el("button", { type: "submit" }, "Schedule");
  const form = el("form", {
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      if (!starts.value) {
        say(section, "error", "Choose the date and time of the meeting.");
        return;
      }
      if (repeat.value && !until.value) {
        say(section, "error", "Choose the date the meeting repeats until (at most five years).");
        return;
      }
      const components = [
        ...boxes.filter((b) => b.box.checked).map((b) => b.box.value),
        ...extra.value.split(",").map((x) => x.trim()).filter(Boolean),
      ];
      const body = {
        kind: kind.value,
        title: title.value,
        starts_at: `${starts.value}:00`,
        time_zone: zone.value.trim(),
        duration_minutes: Number(duration.value || 60),
        components,
      };
      if (place.value.trim()) body[kind.value === "virtual" ? "join_url" : "location"] = place.value.trim();
      if (repeat.value) body.rule = ruleFor(repeat.value, starts.value, until.value);
      await run(section, button,
        () => api("POST", `/spaces/${spaceId}/${repeat.value ? "series" : "meetings"}`, body),
        repeat.value ? "Repeating meeting scheduled." : "Meeting scheduled.");
    },
  },
  el("label", { for: "meeting-kind" }, "Kind"), kind,
  el("label", { for: "meeting-title" }, "Title"), title,
  el("label", { for: "meeting-starts" }, "Date and time"), starts,
  el("label", { for: "meeting-zone" }, "Time zone (IANA name, e.g. America/Los_Angeles)"), zone,
  el("label", { for: "meeting-duration" }, "Duration (minutes)"), duration,
  el("label", { for: "meeting-repeat" }, "Repeats"), repeat, untilRow,
  placeLabel, place,
  el("fieldset", {}, el("legend", {}, "Agenda"), boxes.map((b) => b.node),
    el("label", { for: "meeting-extra" }, "Other components (comma-separated short words)"), extra),
  el("p", {}, button));
  return el("details", {}, el("summary", {}, "Schedule a meeting"), form);
}

function feedCard(spaceId, isMember) {
  const box = el("div", { class: "feed" });
  const button = el("button", { type: "button", class: "secondary" }, "Get my calendar link");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const made = await api("POST", "/me/calendar-feed");
      box.replaceChildren(
        el("label", { for: "feed-url" }, "Your calendar link (all your spaces)"),
        el("input", { id: "feed-url", readonly: true, value: made.url }),
        el("p", { class: "small muted" }, "Add it to your calendar app as a subscription. Keep it to yourself: anyone with the link sees your meetings. Getting a new link ends the old one."));
    } catch (err) {
      showApiError(box, err);
    } finally {
      button.disabled = false;
    }
  });
  box.append(button);
  if (isMember) {
    box.append(" ", el("a", { href: `/api/v1/spaces/${spaceId}/calendar.ics`, download: "space.ics" }, "This space's calendar (.ics)"));
  }
  return box;
}

/** "12 recorded, 9 checked in themselves": the figures, for those who record attendance. */
function figures(c) {
  if (c.checked_in_count === null || c.checked_in_count === undefined) return null;
  const checked = `${c.checked_in_count} checked in themselves`;
  const text = c.recorded === null ? `Attendance: ${checked}` : `Attendance: ${c.recorded} recorded, ${checked}`;
  return el("span", { class: "small muted check-in-figures" }, text);
}

function checkInItem(spaceId, c, section) {
  const li = el("li", { class: "check-in" },
    el("strong", {}, c.title), " ",
    el("time", { datetime: c.starts_at }, when(c)), " ",
    figures(c));
  if (c.checked_in) {
    li.append(" ", el("span", { class: "badge" }, "You checked in"));
  } else if (c.can_check_in && c.state === "open") {
    const button = el("button", { type: "button" }, "Check in");
    button.setAttribute("aria-label", `Check in to ${c.title}`);
    button.addEventListener("click", () => {
      const [path, body] = c.meeting_id
        ? [`/spaces/${spaceId}/meetings/${c.meeting_id}/check-in`, undefined]
        : [`/spaces/${spaceId}/series/${c.series_id}/check-in`, { original_start: c.original_start }];
      run(section, button, () => api("POST", path, body), "You are checked in. Thank you for coming!");
    });
    li.append(" ", button);
  } else if (c.state === "closed") {
    li.append(" ", el("span", { class: "muted small" }, "Check-in closed"));
  }
  return li;
}

function checkInCard(spaceId, checkIns, section) {
  return el("div", { class: "check-ins", id: "check-ins" },
    el("h3", {}, "Check in"),
    el("p", { class: "small muted" },
      "Check-in opens 15 minutes before a meeting and closes at the end of its day. Only how many checked in is kept for the space's facilitators; nobody sees who."),
    el("ul", {}, checkIns.map((c) => checkInItem(spaceId, c, section))));
}

/** The meetings card of a space page. */
export function meetingsSection(spaceId, meetings, { isMember, checkIns = [] }) {
  const section = el("section", { class: "card", id: "meetings" }, el("h2", {}, "Meetings"));
  const canManage = meetings.can_schedule;
  if (checkIns.length) section.append(checkInCard(spaceId, checkIns, section));
  const items = [
    ...meetings.items.map((m) => ({ at: m.starts_at, node: meetingItem(spaceId, m, canManage, section) })),
    ...(meetings.occurrences || []).map((o) => ({ at: o.starts_at, node: occurrenceItem(spaceId, o, canManage, section) })),
  ].sort((a, b) => new Date(a.at) - new Date(b.at));
  section.append(items.length
    ? el("ul", {}, items.map((i) => i.node))
    : el("p", { class: "muted" }, "No upcoming meetings."));
  if (meetings.required_components.length) {
    section.append(el("p", { class: "small muted" }, "Every agenda includes: ", meetings.required_components.join(", "), "."));
  }
  if (isMember) section.append(feedCard(spaceId, isMember));
  if (canManage) section.append(scheduleForm(spaceId, meetings, section));
  return section;
}
