import "./style.css";
import { ApiError } from "./api";
import { SignInUnavailable, completeLogin, configure, currentUser, login, logout } from "./auth";
import { announce, h, mount } from "./dom";
import { setLang, lang, t } from "./i18n";
import { LiveEvent, onLive, startLive, stopLive } from "./live";
import { arrivalMessage, navigate, setRenderer } from "./router";
import * as views from "./views";

const main = document.getElementById("main")!;
const bar = document.getElementById("bar")!;
const foot = document.getElementById("foot")!;
const PUBLIC = new Set(["/", "/creer-un-compte", "/mot-de-passe-oublie", "/callback"]);

function navLink(href: string, text: string): HTMLElement {
  const current = location.pathname === href || (href !== "/" && location.pathname.startsWith(`${href}/`));
  return h("a", { href, "aria-current": current ? "page" : undefined,
    onclick: (e: Event) => { e.preventDefault(); void navigate(href); } }, text);
}

function header(signedIn: boolean): void {
  const other = lang === "fr" ? "en" : "fr";
  mount(bar,
    h("a", { class: "brand", href: signedIn ? "/famille" : "/",
      onclick: (e: Event) => { e.preventDefault(); void navigate(signedIn ? "/famille" : "/"); } }, t("app.title")),
    h("nav", { "aria-label": t("nav.menu") }, h("ul", {},
      signedIn ? [
        h("li", {}, navLink("/famille", t("nav.family"))),
        h("li", {}, navLink("/associer", t("nav.addChild"))),
        h("li", {}, navLink("/messages", t("nav.messages"))),
        h("li", {}, navLink("/compte", t("nav.settings"))),
      ] : null,
      h("li", {}, h("button", { type: "button", class: "link", lang: other, "aria-label": t("nav.languageLabel"),
        onclick: () => { setLang(other); void render(location.pathname + location.search); } }, t("nav.language"))),
      signedIn ? h("li", {}, h("button", { type: "button", class: "link", id: "logout",
        onclick: () => { stopLive(); void logout(); } }, t("nav.logout"))) : null)));
  document.querySelector<HTMLAnchorElement>(".skip")!.textContent = t("skip");
  document.title = t("app.title");
  mount(foot, h("p", {}, "Portail Parents"));
}

async function screen(path: string): Promise<HTMLElement> {
  const parts = path.split("?")[0].split("/").filter(Boolean).map(decodeURIComponent);
  if (path === "/" || parts.length === 0) return views.home();
  switch (parts[0]) {
    case "creer-un-compte": return views.codeFlow("register");
    case "mot-de-passe-oublie": return views.codeFlow("reset");
    case "famille": return views.familyView();
    case "associer": return views.linkView();
    case "messages": return views.messagesView();
    case "compte": return views.settingsView();
    case "enfants":
      if (parts.length === 2) return views.childHome(parts[1]);
      if (parts.length === 3) return views.childTile(parts[1], parts[2], new URLSearchParams(path.split("?")[1] ?? ""));
  }
  return views.notFound();
}

// Each render has a number; a screen that finishes loading after a later render began is dropped,
// so the page always ends on the last link clicked, whatever order the answers arrive in.
let renders = 0;
// Whether the parent has typed in this screen's forms since it was shown: a live update then
// leaves the screen as it is (its banner says what is new) rather than wiping what they typed.
let edited = false;
main.addEventListener("input", () => (edited = true));

async function render(path: string, live = false): Promise<void> {
  const generation = ++renders;
  const current = () => generation === renders;
  const bare = path.split("?")[0];
  if (bare === "/callback") {
    try {
      const back = await completeLogin();
      history.replaceState(null, "", back);
      return render(back);
    } catch {
      history.replaceState(null, "", "/");
      return render("/");
    }
  }
  const user = await currentUser();
  if (!current()) return;
  if (!user && !PUBLIC.has(bare)) {
    await login(); // back here after
    return;
  }
  if (user && bare === "/") {
    history.replaceState(null, "", "/famille");
    return render("/famille");
  }
  header(Boolean(user));
  main.setAttribute("aria-busy", "true");
  let content: HTMLElement;
  try {
    content = await screen(path);
  } catch (error) {
    content = error instanceof ApiError && error.status === 404 ? views.notFound()
      : h("section", {}, h("h1", { tabindex: "-1" }, t("error.generic")),
        h("p", { role: "alert" }, error instanceof SignInUnavailable ? t("error.signInUnavailable")
          : error instanceof ApiError && error.message ? error.message : t("error.unavailable")));
  }
  if (!current()) return;
  main.removeAttribute("aria-busy");
  if (live && edited) return;
  mount(main, content);
  edited = false;
  // A live refresh leaves the focus where the parent is reading.
  if (!live) (main.querySelector("h1") as HTMLElement | null)?.focus();
  const message = arrivalMessage();
  if (message) {
    main.prepend(h("p", { class: "notice", role: "status" }, message));
    announce(message);
  }
  if (user) startLive();
}

// What is new shows at once on the page of that child (or the family), without reload.
onLive((event: LiveEvent) => {
  const path = location.pathname;
  const child = decodeURIComponent(path.split("/")[2] ?? "");
  const concerned = path === "/famille" || path === "/messages" || (path.startsWith("/enfants/") && child === event.student_id);
  const what = t("live.new", { what: t(`live.${event.type}` as Parameters<typeof t>[0]) });
  const banner = h("p", { class: "live-banner", "data-event": event.type }, what);
  document.querySelector(".live-banner")?.remove();
  main.prepend(banner);
  announce(what);
  if (concerned) {
    // The service applies the event in a moment; the banner stays while the page refreshes.
    setTimeout(async () => {
      if (edited) return;
      await render(location.pathname + location.search, true);
      if (!main.contains(banner)) main.prepend(banner);
    }, 400);
  }
});

// Keycloak out of reach: whatever asked for a login (the button, a page that needs one) says so
// on the page, rather than nothing happening.
window.addEventListener("unhandledrejection", (event) => {
  if (!(event.reason instanceof SignInUnavailable)) return;
  event.preventDefault();
  document.getElementById("sign-in-unavailable")?.remove();
  if (!main.querySelector("h1")) {
    header(false);
    mount(main, h("h1", { tabindex: "-1" }, t("app.title")));
  }
  main.removeAttribute("aria-busy");
  const alert = h("p", { id: "sign-in-unavailable", class: "notice", role: "alert" }, t("error.signInUnavailable"));
  main.querySelector("h1")!.after(alert);
});

async function start(): Promise<void> {
  setRenderer(render);
  await configure();
  await render(location.pathname + location.search);
}

void start();
