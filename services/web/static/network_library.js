// A network's resource library ("StaffLink"): members see it all, anyone sees what is public,
// admins add, pin, publish and delete.
import { el, fill } from "/static/app.js";
import { librarySection } from "/static/library.js";

const page = document.getElementById("page");
const slug = page.dataset.slug;
const signedIn = page.dataset.signedIn === "yes";

async function main() {
  let network = null;
  if (signedIn) {
    try {
      const response = await fetch(`/api/v1/networks/${encodeURIComponent(slug)}`, { credentials: "same-origin" });
      if (response.ok) network = await response.json();
    } catch { /* the library below still loads */ }
  }
  const name = network ? network.name : slug;
  document.title = `${name} library · Affinity Federation`;
  fill(page,
    el("p", { class: "small" }, signedIn ? el("a", { href: `/networks/${slug}` }, name) : name),
    el("h1", {}, `${name}: resource library`),
    signedIn ? null : el("p", { class: "muted" }, "You see the resources this network has made public. Sign in to see more."));
  try {
    page.append(await librarySection({ path: `/networks/${slug}/resources`, network: slug, heading: "Resources", searchable: signedIn }));
  } catch (err) {
    page.append(el("p", { class: "alert error" }, err.message || String(err)));
  }
}

main();
