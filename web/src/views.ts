// The screens outside a child's tiles (tiles.ts): welcome, account creation and reset, the family,
// linking a child, a child's home, messages, the account. Each returns its content; main.ts puts
// it in <main> and moves focus to its title.
import { api, ApiError, download } from "./api";
import { login, loginToAddPasskey, logout, sessionId } from "./auth";
import { announce, h, mount } from "./dom";
import { apiFailure, checkLocally, clearErrors, field, Field, input, select, status } from "./forms";
import { formatDate, formatDateTime, Key, lang, t, today, tParts } from "./i18n";
import { navigate } from "./router";
import * as tiles from "./tiles";
import { badge, button, cents, Child, children, childPath, failure, gradeLabel, link, name, rememberChildren, school,
  scrollBox, Tile, tileName, title } from "./ui";

// -- welcome, account creation, password reset ---------------------------------------------------

export function home(): HTMLElement {
  return h("section", { class: "welcome" },
    title(t("home.title")),
    h("p", { class: "lead" }, t("home.lead")),
    h("p", { class: "notice" }, t("home.emailReminder")),
    h("div", { class: "actions" },
      button(t("home.login"), { class: "primary", onclick: () => login("/famille") }),
      link("/creer-un-compte", t("home.create"), { class: "button" }),
      link("/mot-de-passe-oublie", t("home.forgot"))));
}

/** Account creation ("register") and password reset ("reset") share their three steps: a code by
 * email, the code for a ticket, the password with the ticket. */
export function codeFlow(flow: "register" | "reset"): HTMLElement {
  const base = flow === "register" ? "/accounts" : "/passwords";
  const email = field("email", t("account.email"), input("email", { autocomplete: "email", maxlength: 254 }),
    t("home.emailReminder"));
  const code = field("code", t("account.code"), input("text", { inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6}", maxlength: 6 }));
  const password = field("password", t("account.password"), input("password", { autocomplete: "new-password",
    minlength: 8 }), t("account.passwordRule"));
  const confirmation = field("password_confirmation", t("account.confirmation"),
    input("password", { autocomplete: "new-password" }));
  const form = h("form", { novalidate: true }) as HTMLFormElement;
  const section = h("section", {}, title(t(flow === "register" ? "account.title" : "account.resetTitle")), form);
  let ticket = "";

  const stepEmail = () => {
    form.replaceChildren(email.wrapper, h("div", { class: "actions" }, h("button", { class: "primary" }, t("account.getCode"))));
    form.onsubmit = async (e) => {
      e.preventDefault();
      if (!checkLocally(form, [email])) return;
      try {
        await api("POST", `${base}/codes`, { email: email.input.value, locale: lang }, false);
        stepCode();
      } catch (error) { apiFailure(form, [email], error); }
    };
  };
  const stepCode = () => {
    const sent = status(t("account.codeSent", { email: email.input.value }));
    form.replaceChildren(sent, code.wrapper, h("div", { class: "actions" },
      h("button", { class: "primary" }, t("account.verify")),
      button(t("account.newCode"), { onclick: async () => {
        clearErrors(form);
        try { await api("POST", `${base}/codes`, { email: email.input.value, locale: lang }, false); announce(sent.textContent!); }
        catch (error) { apiFailure(form, [code], error); }
      } })));
    code.input.focus();
    form.onsubmit = async (e) => {
      e.preventDefault();
      if (!checkLocally(form, [code])) return;
      try {
        ticket = (await api("POST", `${base}/codes/verification`, { email: email.input.value, code: code.input.value }, false)).ticket;
        stepPassword();
      } catch (error) { apiFailure(form, [code], error); }
    };
  };
  const stepPassword = () => {
    form.replaceChildren(password.wrapper, confirmation.wrapper, h("div", { class: "actions" },
      h("button", { class: "primary" }, t("form.save")), link("/", t("form.cancel"), { class: "button" })));
    password.input.focus();
    form.onsubmit = async (e) => {
      e.preventDefault();
      const fields = [password, confirmation];
      if (!checkLocally(form, fields)) return;
      if (password.input.value !== confirmation.input.value) {
        apiFailure(form, fields, new ApiError(422, "password_mismatch", t("account.mismatch"), "password_confirmation"));
        return;
      }
      try {
        await api("POST", flow === "register" ? "/accounts" : "/passwords", { ticket, password: password.input.value,
          password_confirmation: confirmation.input.value, ...(flow === "register" ? { locale: lang } : {}) }, false);
        // After creation a passkey is offered beside the plain login, never forced.
        const offer = flow === "register" && "PublicKeyCredential" in window;
        mount(form, status(t(flow === "register" ? "account.created" : "account.reset")),
          offer ? h("p", {}, t("account.createdPasskey")) : null,
          h("div", { class: "actions" }, button(t("home.login"), { class: "primary", onclick: () => login("/famille") }),
            offer ? button(t("account.loginAddPasskey"), { id: "login-add-passkey", onclick: () => loginToAddPasskey() }) : null));
      } catch (error) { apiFailure(form, fields, error); }
    };
  };
  stepEmail();
  return section;
}

// -- family ---------------------------------------------------------------------------------------

/** What is new in a tile, in one sentence (or null when the tile has nothing to say). */
function news(tile: string, data: any): string | null {
  const now = today();
  switch (tile) {
    case "messages": return t("family.unread", { count: data.unread ?? 0 });
    case "absences": return t("family.toJustify", { count: data.to_justify?.length ?? 0 });
    case "finances": return balanceSentence(data.statements ?? [], data.balance_cents ?? 0, now);
    case "results": {
      const latest = [...(data.bulletins ?? [])].sort((a: any, b: any) => a.published_at.localeCompare(b.published_at)).pop();
      return latest ? t("family.latestBulletin", { what: tiles.latestBulletinName(latest), date: formatDate(latest.published_at) })
        : t("family.noBulletin");
    }
    case "agenda": {
      const day = (data.days ?? []).find((d: any) => d.date === now);
      const what = !day ? null : !day.school_day ? (day.day_off ? `${t("summary.noSchool")} (${day.day_off})` : t("summary.noSchool"))
        : day.timetable_day && day.timetable_day !== (new Date(`${now}T12:00:00Z`).getUTCDay() || 7)
          ? t("summary.cycleDay", { day: day.timetable_day }) : t("summary.schoolDay");
      const upcoming = (data.detentions ?? []).filter((d: any) => d.date >= now).length;
      return [what ? t("summary.agendaToday", { what }) : null, t("summary.detentions", { count: upcoming })].filter(Boolean).join(" · ");
    }
    case "homework": {
      const soon = (Array.isArray(data) ? data : []).filter((i: any) => i.due_on >= now && i.due_on <= tiles.addDays(now, 7)).length;
      return t("summary.homework", { count: soon });
    }
    case "record": return data.transport ? t("summary.transport", { route: data.transport.route }) : gradeLabel(data.student?.grade, data.student?.group) || null;
    case "resources": return t("summary.resources", { count: data.resources?.length ?? 0 });
    case "contact": return data.school?.phone ? t("summary.call", { phone: data.school.phone }) : null;
    default: return null;
  }
}

/** "Solde : 61,00 $ à payer avant le 15 octobre": the balance and the soonest due date still owed. */
function balanceSentence(statements: any[], balance: number, now: string): string {
  if (balance < 0) return t("family.credit", { amount: cents(-balance) });
  if (balance === 0) return t("family.nothingToPay");
  const owed = statements.filter((s) => s.balance_cents > 0).map((s) => s.due_date).sort();
  if (!owed.length) return t("family.balance", { amount: cents(balance) });
  return t(owed[0] < now ? "family.balanceLate" : "family.balanceDue", { amount: cents(balance), date: formatDate(owed[0]) });
}

function unavailable(state: Tile): HTMLElement | null {
  if (state.status === "stale") return h("p", { class: "stale", role: "note" }, t("child.stale", { time: formatDateTime(state.as_of) }));
  if (state.status === "unavailable" || state.status === "error") return h("p", { class: "stale", role: "note" }, t("child.unavailable"));
  return null;
}

export async function familyView(): Promise<HTMLElement> {
  const [overview, balance] = await Promise.all([api("GET", "/family"), api("GET", "/family/balance").catch(() => null)]);
  rememberChildren(overview.children);
  const section = h("section", {}, title(t("family.title")));
  if (!overview.children.length) {
    section.append(h("p", {}, t("family.empty")), link("/associer", t("family.link"), { class: "button primary" }));
    return section;
  }
  // A message for several children counts once on each of their cards, as on each child's page.
  const unread: Record<string, number> = {};
  for (const message of overview.messages.data?.messages ?? []) {
    if (!message.read) for (const id of message.student_ids ?? []) unread[id] = (unread[id] ?? 0) + 1;
  }
  if (balance) {
    section.append(h("p", { class: "balance family-total" },
      balance.balance_cents > 0 ? t("family.total", { amount: cents(balance.balance_cents) }) : t("family.totalNone")));
  }
  section.append(h("ul", { class: "cards" }, overview.children.map((child: Child & { news: Record<string, Tile> }) => {
    const lines: HTMLElement[] = [];
    if (overview.messages.status === "ok") {
      lines.push(h("li", { "data-news": "messages", "data-count": unread[child.student_id] ?? 0 },
        link(childPath(child.student_id, "messages"), t("family.unread", { count: unread[child.student_id] ?? 0 }))));
    }
    for (const tile of ["absences", "finances", "results"]) {
      const state = child.news[tile];
      if (state?.status === "ok" || state?.status === "stale") {
        const said = news(tile, state.data);
        if (said) lines.push(h("li", { "data-news": tile }, link(childPath(child.student_id, tile), said)));
      }
    }
    const degraded = [overview.messages, ...Object.values(child.news)].some((tile: Tile) => tile.status !== "ok");
    return h("li", { class: "card", "data-child": child.student_id },
      h("h2", {}, school(name(child))),
      h("p", { class: "muted" }, school(child.school.name), child.grade ? ` · ${gradeLabel(child.grade)}` : ""),
      h("h3", {}, t("family.news")),
      h("ul", { class: "news" }, lines.length ? lines : h("li", {}, t("summary.empty")),
        degraded ? h("li", { class: "stale" }, t("child.unavailable")) : null),
      link(childPath(child.student_id), t("family.open", { name: child.first_name }), { class: "button" }));
  })), h("p", {}, link("/associer", t("nav.addChild"), { class: "button" })));
  return section;
}

export function linkView(): HTMLElement {
  const orgSelect = select([["", t("link.orgChoose")]]);
  const search = input("search", { maxlength: 100 });
  const org = field("org_id", t("link.org"), orgSelect);
  const orgSearch = field("org_search", t("link.orgSearch"), search, undefined, true);
  const lastName = field("last_name", t("link.lastName"), input("text", { autocomplete: "off", maxlength: 100 }));
  const firstName = field("first_name", t("link.firstName"), input("text", { autocomplete: "off", maxlength: 100 }));
  const birth = field("birth_date", t("link.birthDate"), input("date", { max: today() }));
  const kind = field("id_kind", t("link.idKind"), select([["student_number", t("link.studentNumber")],
    ["permanent_code", t("link.permanentCode")], ["pin", t("link.pin")]]));
  const identifier = field("student_number", t("link.studentNumber"), input("text", { pattern: "[0-9]{1,7}", maxlength: 7,
    inputmode: "numeric" }), t("link.studentNumberHelp"));
  const another = input("checkbox", { id: "link-another" });
  const form = h("form", { novalidate: true }) as HTMLFormElement;
  const fields: Field[] = [org, lastName, firstName, birth, kind, identifier];
  let page = 1;
  let more: HTMLElement;
  const loadOrgs = async (reset: boolean) => {
    if (reset) { page = 1; orgSelect.replaceChildren(h("option", { value: "" }, t("link.orgChoose"))); }
    const found = await api("GET", `/organisations?query=${encodeURIComponent(search.value)}&page=${page}`);
    for (const o of found.items) orgSelect.append(h("option", { value: o.id, translate: "no" }, o.name));
    more.hidden = found.page * found.page_size >= found.total;
  };
  let timer = 0;
  search.addEventListener("input", () => { clearTimeout(timer); timer = window.setTimeout(() => loadOrgs(true), 250); });
  more = button(t("link.more"), { onclick: () => { page += 1; void loadOrgs(false); } });
  kind.input.addEventListener("change", () => {
    const value = kind.input.value as "student_number" | "permanent_code" | "pin";
    identifier.name = value;
    identifier.input.name = value;
    identifier.wrapper.querySelector("label")!.textContent = t(({ student_number: "link.studentNumber",
      permanent_code: "link.permanentCode", pin: "link.pin" } as const)[value]);
    const box = identifier.input as HTMLInputElement;
    box.pattern = value === "student_number" ? "[0-9]{1,7}" : value === "permanent_code" ? "[A-Za-z]{4}[0-9]{6}([0-9]{2})?" : ".{1,20}";
    box.maxLength = value === "student_number" ? 7 : value === "permanent_code" ? 12 : 20;
    box.inputMode = value === "student_number" ? "numeric" : "text";
    const help = identifier.wrapper.querySelector<HTMLElement>(".help")!;
    help.hidden = value !== "student_number";
  });
  form.append(h("p", {}, t("link.intro")), orgSearch.wrapper, more, org.wrapper, lastName.wrapper, firstName.wrapper,
    birth.wrapper, kind.wrapper, identifier.wrapper,
    h("div", { class: "check" }, another, h("label", { for: "link-another" }, t("link.another"))),
    h("div", { class: "actions" }, h("button", { class: "primary" }, t("form.submit"))));
  form.onsubmit = async (e) => {
    e.preventDefault();
    if (!checkLocally(form, fields)) return;
    try {
      const answer = await api("POST", "/children", { org_id: orgSelect.value, last_name: lastName.input.value.trim(),
        first_name: firstName.input.value.trim(), birth_date: birth.input.value,
        [identifier.name]: identifier.input.value.trim().toUpperCase() });
      await children(true);
      const done = t("link.done", { name: name(answer.child) });
      if (another.checked) {
        // "Repeat for another child": the parent stays in the form, the board stays chosen.
        for (const f of [lastName, firstName, birth, identifier]) f.input.value = "";
        form.prepend(status(done));
        announce(done);
        lastName.input.focus();
      } else {
        navigate(`/enfants/${encodeURIComponent(answer.child.student_id)}`, done);
      }
    } catch (error) { apiFailure(form, fields, error); }
  };
  void loadOrgs(true);
  return h("section", {}, title(t("link.title")), form);
}

// -- a child's home and tiles -----------------------------------------------------------------------

function switcher(current: string, kids: Child[], tile?: string): HTMLElement | null {
  if (kids.length < 2) return null;
  const choose = select(kids.map((c) => [c.student_id, name(c)]), { id: "child-switch" });
  choose.value = current;
  choose.addEventListener("change", () => navigate(childPath(choose.value, tile)));
  return h("div", { class: "switcher" }, h("label", { for: "child-switch" }, t("child.switch")), choose);
}

export async function childHome(studentId: string): Promise<HTMLElement> {
  const [dashboard, kids] = await Promise.all([api("GET", `/children/${encodeURIComponent(studentId)}/dashboard`), children()]);
  const child = kids.find((c) => c.student_id === studentId);
  const shown = Object.keys(dashboard.tiles);
  const childName = child ? name(child) : "";
  return h("section", {},
    title(childName),
    child ? h("p", { class: "muted" }, school(child.school.name), child.grade ? ` · ${gradeLabel(child.grade)}` : "") : null,
    switcher(studentId, kids),
    h("h2", { class: "visually-hidden" }, t("child.tiles", { name: childName })),
    h("ul", { class: "tiles" }, shown.map((tile) => {
      const state: Tile = dashboard.tiles[tile];
      const said = state.data !== undefined ? news(tile, state.data) ?? t("summary.empty") : null;
      return h("li", { class: `tile tile-${tile}`, "data-tile": tile },
        h("h3", {}, link(childPath(studentId, tile), tileName(tile))),
        unavailable(state),
        said ? h("p", { "data-count": tile === "messages" ? state.data.unread ?? 0 : undefined }, said) : null);
    })),
    child?.principal ? h("p", {}, link(childPath(studentId, "reenrollment"), t("tile.reenrollment"), { class: "button" })) : null);
}

const TILE_SCREENS: Record<string, tiles.TileScreen> = {
  messages: async (id) => tiles.messagesList(await api("GET", `/inbox?student_id=${encodeURIComponent(id)}`), await children()),
  absences: tiles.absencesTile,
  results: tiles.resultsTile,
  agenda: tiles.agendaTile,
  homework: tiles.homeworkTile,
  finances: tiles.financesTile,
  record: tiles.recordTile,
  resources: tiles.resourcesTile,
  contact: tiles.contactTile,
  reenrollment: tiles.reenrollmentTile,
};

export async function childTile(studentId: string, tile: string, query: URLSearchParams): Promise<HTMLElement> {
  const screen = TILE_SCREENS[tile];
  if (!screen) return notFound();
  const kids = await children();
  const child = kids.find((c) => c.student_id === studentId);
  if (!child) return notFound();
  let body: HTMLElement[];
  try {
    body = await screen(studentId, query);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code === "child_not_found") throw error;
    body = [failure(error)];
  }
  return h("section", { class: `screen-${tile}` },
    h("p", { class: "crumb" }, link(childPath(studentId), name(child))),
    title(`${tileName(tile)} — ${name(child)}`),
    switcher(studentId, kids, tile),
    body);
}

// -- messages and account -------------------------------------------------------------------------

export async function messagesView(): Promise<HTMLElement> {
  const [inbox, kids] = await Promise.all([api("GET", "/inbox"), children()]);
  return h("section", {}, title(t("messages.title")), tiles.messagesList(inbox, kids));
}

const KINDS = ["message", "absence", "bulletin", "statement", "detention", "reenrollment"];

function preferencesForm(preferences: any, kids: Child[]): HTMLElement {
  const form = h("form", { novalidate: true }) as HTMLFormElement;
  const choices: { student_id: string; kind: string; select: HTMLSelectElement }[] = [];
  const columns = (preferences.children ?? []).filter((c: any) => kids.some((k) => k.student_id === c.student_id));
  const childName = (id: string) => kids.find((k) => k.student_id === id)?.first_name ?? "";
  const kinds = KINDS.filter((kind) => columns.some((c: any) => kind in (c.kinds ?? {})));
  const grid = h("table", { class: "preferences" },
    h("caption", { class: "visually-hidden" }, t("settings.preferences")),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("settings.kind")),
      columns.map((c: any) => h("th", { scope: "col" }, school(childName(c.student_id)))))),
    h("tbody", {}, kinds.map((kind) => h("tr", {}, h("th", { scope: "row" }, t(`settings.kind.${kind}` as Key)),
      columns.map((c: any) => {
        const choice = select(["instant", "digest", "off"].map((m) => [m, t(`settings.mode.${m}` as Key)]),
          { "aria-label": `${t(`settings.kind.${kind}` as Key)} — ${childName(c.student_id)}` });
        choice.value = String(c.kinds[kind]);
        choices.push({ student_id: c.student_id, kind, select: choice });
        return h("td", {}, choice);
      })))));
  const quiet = preferences.quiet_hours;
  const start = field("quiet_start", t("settings.quietStart"), input("time", { value: quiet?.start ?? "" }), undefined, true);
  const end = field("quiet_end", t("settings.quietEnd"), input("time", { value: quiet?.end ?? "" }), undefined, true);
  form.append(h("p", {}, t("settings.preferencesHelp")), scrollBox(t("settings.preferences"), grid),
    h("fieldset", {}, h("legend", {}, t("settings.quietHours")), h("p", { class: "help" }, t("settings.quietHelp")),
      h("div", { class: "inline-fields" }, start.wrapper, end.wrapper)),
    h("div", { class: "actions" }, h("button", { class: "primary" }, t("form.save"))));
  form.onsubmit = async (e) => {
    e.preventDefault();
    const byChild: Record<string, Record<string, string>> = {};
    for (const c of choices) (byChild[c.student_id] ??= {})[c.kind] = c.select.value;
    try {
      await api("PUT", "/preferences", {
        quiet_hours: start.input.value && end.input.value ? { start: start.input.value, end: end.input.value } : null,
        children: Object.entries(byChild).map(([student_id, kinds]) => ({ student_id, kinds })) });
      clearErrors(form);
      form.querySelector(".notice")?.remove();
      form.prepend(status(t("settings.saved")));
    } catch (error) { apiFailure(form, [start, end], error); }
  };
  return h("div", {}, h("h2", {}, t("settings.preferences")), form);
}

function sessionsList(sessions: any[], current: string | null): HTMLElement {
  const list = h("ul", { class: "list plain cards-list sessions" }, sessions.map((s) => {
    const mine = s.session_id === current;
    const item: HTMLElement = h("li", { class: "card", "data-session": mine ? "current" : "other" },
      h("h3", {}, t("settings.sessionDevice"), mine ? [" ", badge(t("settings.sessionThis"), "info")] : null),
      h("p", {}, t("settings.sessionLastUse", { date: formatDateTime(s.last_access_at ?? s.started_at) })),
      h("p", { class: "muted" }, t("settings.sessionStarted", { date: formatDateTime(s.started_at) }),
        s.ip_address ? ` · ${t("settings.sessionAddress", { address: s.ip_address })}` : ""),
      mine ? null : button(t("settings.sessionClose"), { onclick: async () => {
        try {
          await api("DELETE", `/me/sessions/${encodeURIComponent(s.session_id)}`);
          item.replaceWith(h("li", {}, status(t("settings.sessionClosed"))));
          announce(t("settings.sessionClosed"));
        } catch (error) { item.append(failure(error)); }
      } }));
    return item;
  }));
  return sessions.some((s) => s.session_id !== current) ? list : h("div", {}, list, h("p", { class: "muted" }, t("settings.noSession")));
}

/** The parent's passkeys (label, created, last used), each removable, and a fresh login to add one. */
function passkeysList(passkeys: any[]): HTMLElement {
  const box = h("div", { class: "passkeys" });
  const added = new URLSearchParams(location.search).get("passkey");
  const list = h("ul", { class: "list plain cards-list" }, passkeys.map((p) => {
    const label = p.label || t("settings.passkeyUnnamed");
    const item: HTMLElement = h("li", { class: "card", "data-passkey": p.passkey_id },
      h("h3", {}, label),
      h("p", {}, t("settings.passkeyCreated", { date: formatDateTime(p.created_at) }),
        p.last_used_at ? ` · ${t("settings.passkeyLastUsed", { date: formatDateTime(p.last_used_at) })}` : ""),
      button(t("settings.passkeyRemove"), { "aria-label": t("settings.passkeyRemoveLabel", { label }), onclick: async () => {
        try {
          await api("DELETE", `/me/passkeys/${encodeURIComponent(p.passkey_id)}`);
          item.replaceWith(h("li", {}, status(t("settings.passkeyRemoved"))));
          announce(t("settings.passkeyRemoved"));
        } catch (error) { item.append(failure(error)); }
      } }));
    return item;
  }));
  const supported = "PublicKeyCredential" in window;
  mount(box,
    added ? status(t(added === "success" ? "settings.passkeyAdded" : "settings.passkeyNotAdded")) : null,
    h("p", {}, t("settings.passkeysHelp")),
    passkeys.length ? list : h("p", { class: "muted" }, t("settings.passkeysNone")),
    supported ? [h("p", { class: "help" }, t("settings.passkeyAddHelp")),
      button(t("settings.passkeyAdd"), { id: "add-passkey", onclick: async () => {
        try { await loginToAddPasskey(); } catch (error) { box.append(failure(error)); }
      } })] : h("p", { class: "muted" }, t("settings.passkeyUnsupported")));
  return box;
}

function twoFactor(me: any): HTMLElement {
  const box = h("div", { class: "two-factor" });
  const show = (enabled: boolean, pending: boolean) => mount(box,
    h("p", {}, badge(enabled ? t("settings.twoFactorStateOn") : t("settings.twoFactorStateOff"), enabled ? "ok" : "info")),
    h("p", {}, enabled ? t("settings.twoFactorOn") : t("settings.twoFactorOff")),
    pending ? status(t("settings.twoFactorPending")) : null,
    button(enabled || pending ? t("settings.twoFactorDisable") : t("settings.twoFactorEnable"), { id: "two-factor",
      onclick: async () => {
        try {
          const answer = await api("PUT", "/me/two-factor", { enabled: !(enabled || pending) });
          show(answer.totp_enabled, answer.setup_pending);
          announce(answer.setup_pending ? t("settings.twoFactorPending")
            : t(answer.totp_enabled ? "settings.twoFactorOn" : "settings.twoFactorOff"));
        } catch (error) { box.append(failure(error)); }
      } }));
  show(Boolean(me.totp_enabled), false);
  return box;
}

export async function settingsView(): Promise<HTMLElement> {
  const [me, preferences, feed, sessions, kids, passkeys] = await Promise.all([api("GET", "/me").catch(() => null),
    api("GET", "/preferences").catch(() => null), api("GET", "/calendar-feed").catch(() => null),
    api("GET", "/me/sessions").catch(() => null), children().catch(() => [] as Child[]),
    api("GET", "/me/passkeys").catch(() => null)]);
  const section = h("section", {}, title(t("settings.title")));
  if (me?.email) section.append(h("p", {}, tParts("settings.email", { email: h("strong", { translate: "no" }, me.email) })));
  if (preferences) section.append(preferencesForm(preferences, kids));
  if (sessions) {
    section.append(h("h2", {}, t("settings.sessions")), h("p", {}, t("settings.sessionsHelp")),
      sessionsList(sessions, await sessionId()),
      h("p", { class: "help" }, t("settings.endAllHelp")),
      button(t("settings.endAll"), { id: "end-all-sessions", onclick: async (e: Event) => {
        try {
          await api("DELETE", "/me/sessions");
          await logout();
        } catch (error) { (e.target as HTMLElement).after(failure(error)); }
      } }));
  }
  if (passkeys) section.append(h("h2", {}, t("settings.passkeys")), passkeysList(passkeys));
  if (me) section.append(h("h2", {}, t("settings.twoFactor")), twoFactor(me));
  if (feed) {
    const address = `${location.origin}/api/v1/calendar/${feed.token}.ics`;
    section.append(h("h2", {}, t("settings.calendar")), h("p", {}, t("settings.calendarHelp")),
      h("div", { class: "field" }, h("label", { for: "feed-address" }, t("settings.calendarAddress")),
        h("input", { id: "feed-address", type: "text", readonly: true, value: address, class: "feed" })),
      button(t("settings.calendarReset"), { onclick: async () => { await api("POST", "/calendar-feed/reset"); navigate("/compte", undefined, true); } }));
  }
  const confirmation = field("confirmation", t("account.email"), input("email", { autocomplete: "email" }), t("settings.closeHelp"));
  const close = h("form", { novalidate: true }, confirmation.wrapper,
    h("div", { class: "actions" }, h("button", { class: "danger" }, t("settings.close")))) as HTMLFormElement;
  close.onsubmit = async (e) => {
    e.preventDefault();
    if (!checkLocally(close, [confirmation])) return;
    try {
      await api("POST", "/me/closure", { confirmation: confirmation.input.value });
      sessionStorage.clear();
      close.replaceChildren(status(t("settings.closed")));
    } catch (error) { apiFailure(close, [confirmation], error); }
  };
  section.append(h("h2", {}, t("settings.data")),
    button(t("settings.download"), { class: "primary", id: "download-data", onclick: async (e: Event) => {
      try { await download("/me/export", "portail-parents-mes-donnees.json"); }
      catch (error) { (e.target as HTMLElement).after(failure(error)); }
    } }),
    h("h2", {}, t("settings.close")), close);
  return section;
}

export function notFound(): HTMLElement {
  return h("section", {}, title(t("notFound")), link("/famille", t("nav.family")));
}
