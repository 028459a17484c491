// The screens. Each returns its content; main.ts puts it in <main> and moves focus to its title.
import { api, ApiError, download } from "./api";
import { login } from "./auth";
import { announce, h } from "./dom";
import { apiFailure, checkLocally, clearErrors, field, Field, input, select, status } from "./forms";
import { formatDate, formatMoney, Key, lang, t } from "./i18n";
import { navigate } from "./router";

type Child = { student_id: string; first_name: string; last_name: string; school: { id: string; name: string };
  org: { id: string; name: string }; grade?: string; tiles?: string[]; principal?: boolean };
type Tile = { status: "ok" | "stale" | "unavailable" | "error"; data?: any; as_of?: string; code?: string };

export const TILES = ["messages", "absences", "results", "agenda", "homework", "finances", "record", "resources",
  "contact"] as const;

const title = (text: string) => h("h1", { tabindex: "-1" }, text);
const link = (href: string, text: string, attrs: Record<string, string> = {}) =>
  h("a", { href, ...attrs, onclick: (e: Event) => { e.preventDefault(); navigate(href); } }, text);
const button = (text: string, attrs: Record<string, any> = {}) => h("button", { type: "button", ...attrs }, text);
const name = (c: Child) => `${c.first_name} ${c.last_name}`;
const cents = (value: number) => formatMoney(value / 100);

function failure(error: unknown): HTMLElement {
  const message = error instanceof ApiError && error.message ? error.message : t("error.generic");
  return h("p", { class: "form-error", role: "alert" }, message);
}

let family: Child[] | null = null;
export async function children(refresh = false): Promise<Child[]> {
  if (!family || refresh) family = await api<Child[]>("GET", "/children");
  return family;
}

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
        form.replaceChildren(status(t(flow === "register" ? "account.created" : "account.reset")),
          h("div", { class: "actions" }, button(t("home.login"), { class: "primary", onclick: () => login("/famille") })));
      } catch (error) { apiFailure(form, fields, error); }
    };
  };
  stepEmail();
  return section;
}

// -- family ---------------------------------------------------------------------------------------

export async function familyView(): Promise<HTMLElement> {
  const overview = await api("GET", "/family");
  family = overview.children;
  const section = h("section", {}, title(t("family.title")));
  if (!overview.children.length) {
    section.append(h("p", {}, t("family.empty")), link("/associer", t("family.link"), { class: "button primary" }));
    return section;
  }
  const unread: Record<string, number> = {};
  for (const message of overview.messages.data?.messages ?? []) {
    if (!message.read) for (const c of message.children ?? []) unread[c.student_id ?? c] = (unread[c.student_id ?? c] ?? 0) + 1;
  }
  section.append(h("ul", { class: "cards" }, overview.children.map((child: Child & { news: Record<string, Tile> }) => {
    const absences = child.news.absences;
    const finances = child.news.finances;
    return h("li", { class: "card" },
      h("h2", {}, name(child)),
      h("p", { class: "muted" }, `${child.school.name} · ${child.org.name}`),
      h("h3", {}, t("family.news")),
      h("ul", { class: "news" },
        absences.status === "ok" ? h("li", {}, t("family.toJustify", { count: absences.data.to_justify.length })) : null,
        overview.messages.status === "ok" ? h("li", {}, t("family.unread", { count: unread[child.student_id] ?? 0 })) : null,
        finances.status === "ok" ? h("li", {}, t("family.balance", { amount: cents(finances.data.balance_cents) })) : null,
        [absences, finances, overview.messages].some((tile: Tile) => tile.status !== "ok")
          ? h("li", { class: "stale" }, t("child.unavailable")) : null),
      link(`/enfants/${encodeURIComponent(child.student_id)}`, t("family.open", { name: child.first_name }), { class: "button" }));
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
  const birth = field("birth_date", t("link.birthDate"), input("date", { max: new Date().toISOString().slice(0, 10) }));
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
    for (const o of found.items) orgSelect.append(h("option", { value: o.id }, o.name));
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

// -- a child's home and tiles ---------------------------------------------------------------------

function switcher(current: string, kids: Child[], tile?: string): HTMLElement | null {
  if (kids.length < 2) return null;
  const choose = select(kids.map((c) => [c.student_id, name(c)]), { id: "child-switch" });
  choose.value = current;
  choose.addEventListener("change", () => navigate(`/enfants/${encodeURIComponent(choose.value)}${tile ? `/${tile}` : ""}`));
  return h("div", { class: "switcher" }, h("label", { for: "child-switch" }, t("child.switch")), choose);
}

function tileNotice(tile: Tile): HTMLElement | null {
  if (tile.status === "stale") return h("p", { class: "stale", role: "note" }, t("child.stale", { time: formatDate(tile.as_of) }));
  if (tile.status === "unavailable" || tile.status === "error") return h("p", { class: "stale", role: "note" }, t("child.unavailable"));
  return null;
}

export async function childHome(studentId: string): Promise<HTMLElement> {
  const [dashboard, kids] = await Promise.all([api("GET", `/children/${encodeURIComponent(studentId)}/dashboard`), children()]);
  const child = kids.find((c) => c.student_id === studentId);
  const shown = Object.keys(dashboard.tiles);
  const childName = child ? name(child) : studentId;
  return h("section", {},
    title(childName),
    child ? h("p", { class: "muted" }, `${child.school.name} · ${child.org.name}`) : null,
    switcher(studentId, kids),
    h("h2", { class: "visually-hidden" }, t("child.tiles", { name: childName })),
    h("ul", { class: "tiles" }, shown.map((tile) => {
      const state: Tile = dashboard.tiles[tile];
      return h("li", { class: `tile tile-${tile}` },
        h("h3", {}, link(`/enfants/${encodeURIComponent(studentId)}/${tile}`, t(`tile.${tile}` as Key))),
        tileNotice(state),
        state.data ? summary(tile, state.data) : null);
    })),
    child?.principal ? h("p", {}, link(`/enfants/${encodeURIComponent(studentId)}/reenrollment`, t("tile.reenrollment"))) : null);
}

function summary(tile: string, data: any): HTMLElement | null {
  switch (tile) {
    case "messages": return h("p", {}, t("family.unread", { count: data.unread ?? 0 }));
    case "absences": return h("p", {}, t("family.toJustify", { count: data.to_justify?.length ?? 0 }));
    case "finances": return h("p", {}, t("family.balance", { amount: cents(data.balance_cents ?? 0) }));
    case "results": return h("p", {}, `${data.bulletins?.length ?? 0} · ${t("results.bulletins")}`);
    case "contact": return h("p", {}, data.school?.phone ?? "");
    default: return null;
  }
}

const TILE_ROUTES: Record<string, (id: string) => Promise<HTMLElement[]>> = {
  absences: absencesTile,
  results: resultsTile,
  finances: financesTile,
  record: recordTile,
  contact: contactTile,
  messages: async (id) => messagesList(await api("GET", `/inbox?student_id=${encodeURIComponent(id)}`)),
  agenda: async (id) => [details(await api("GET", `/children/${encodeURIComponent(id)}/agenda`))],
  homework: async (id) => [details(await api("GET", `/children/${encodeURIComponent(id)}/homework`))],
  resources: resourcesTile,
  reenrollment: reenrollmentTile,
};

export async function childTile(studentId: string, tile: string): Promise<HTMLElement> {
  const render = TILE_ROUTES[tile];
  if (!render) return notFound();
  const kids = await children();
  const child = kids.find((c) => c.student_id === studentId);
  let body: HTMLElement[];
  try {
    body = await render(studentId);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code === "child_not_found") throw error;
    body = [failure(error)];
  }
  return h("section", {},
    title(`${t(`tile.${tile}` as Key)} — ${child ? name(child) : studentId}`),
    h("p", {}, link(`/enfants/${encodeURIComponent(studentId)}`, child ? name(child) : studentId)),
    switcher(studentId, kids, tile),
    body);
}

// -- absences ---------------------------------------------------------------------------------------

function reasonOptions(reasons: any[]): [string, string][] {
  return reasons.map((r) => [r.code, (lang === "fr" ? r.label_fr : r.label_en) ?? r.code]);
}

function describeAbsence(a: any): string {
  const period = a.period === "period" ? t("absences.period.period", { number: a.period_number ?? "" })
    : t(`absences.period.${a.period}` as Key);
  const late = a.kind === "lateness" && a.minutes_late ? ` · ${t("absences.minutesLate", { minutes: a.minutes_late })}` : "";
  return `${formatDate(a.date)} — ${t(`absences.kind.${a.kind}` as Key)} · ${period}${late}`;
}

async function absencesTile(studentId: string): Promise<HTMLElement[]> {
  const path = `/children/${encodeURIComponent(studentId)}/absences`;
  const data = await api("GET", path);
  const reasons = reasonOptions(data.reasons ?? []);
  const refresh = async () => navigate(location.pathname, undefined, true);

  const toJustify = h("ul", { class: "list" }, data.to_justify.map((a: any) => {
    const reason = field("reason_code", t("absences.reason"), select(reasons));
    const explanation = field("explanation", t("absences.explanation"), h("textarea", { maxlength: 500, rows: 2 }) as HTMLTextAreaElement, undefined, true);
    const form = h("form", { novalidate: true, class: "inline" }, reason.wrapper, explanation.wrapper,
      h("div", { class: "actions" }, h("button", { class: "primary" }, t("form.submit")))) as HTMLFormElement;
    form.onsubmit = async (e) => {
      e.preventDefault();
      if (!checkLocally(form, [reason, explanation])) return;
      try {
        await api("POST", `${path}/${encodeURIComponent(a.absence_id)}/justification`, {
          reason_code: reason.input.value, explanation: explanation.input.value || null });
        announce(t("absences.justifiedSent"));
        await refresh();
      } catch (error) { apiFailure(form, [reason, explanation], error); }
    };
    return h("li", {}, h("details", {}, h("summary", {}, `${describeAbsence(a)} — ${t("absences.justify")}`), form));
  }));

  const list = data.absences.length
    ? h("ul", { class: "list" }, data.absences.map((a: any) => h("li", { "data-absence": a.absence_id },
      describeAbsence(a), " ", h("span", { class: a.justified ? "badge ok" : "badge warn" },
        a.justified ? t("absences.justified") : a.requires_justification ? t("absences.notJustified") : ""))))
    : h("p", {}, t("absences.none"));

  const start = field("start_date", t("absences.startDate"), input("date", { min: new Date().toISOString().slice(0, 10) }));
  const end = field("end_date", t("absences.endDate"), input("date"), undefined, true);
  const kind = field("kind", t("absences.type"), select([["full_day", t("absences.type.full_day")],
    ["late_arrival", t("absences.type.late_arrival")], ["early_departure", t("absences.type.early_departure")]]));
  const time = field("time", t("absences.time"), input("time"), t("absences.timeHelp"), true);
  const reason = field("reason_code", t("absences.reason"), select(reasons));
  const explanation = field("explanation", t("absences.explanation"), h("textarea", { maxlength: 500, rows: 3 }) as HTMLTextAreaElement, undefined, true);
  const fields = [start, end, kind, time, reason, explanation];
  const syncTime = () => {
    const needed = kind.input.value !== "full_day";
    time.wrapper.hidden = !needed;
    (time.input as HTMLInputElement).required = needed;
  };
  kind.input.addEventListener("change", syncTime);
  syncTime();
  const declare = h("form", { novalidate: true }, ...fields.map((f) => f.wrapper),
    h("div", { class: "actions" }, h("button", { class: "primary" }, t("form.submit")))) as HTMLFormElement;
  declare.onsubmit = async (e) => {
    e.preventDefault();
    if (!checkLocally(declare, fields)) return;
    try {
      await api("POST", `${path}/declarations`, {
        start_date: start.input.value, end_date: end.input.value || null, kind: kind.input.value,
        time: kind.input.value === "full_day" ? null : time.input.value, reason_code: reason.input.value,
        explanation: explanation.input.value || null });
      announce(t("absences.sent"));
      await refresh();
    } catch (error) { apiFailure(declare, fields, error); }
  };

  return [
    h("h2", {}, t("absences.toJustify")), data.to_justify.length ? toJustify : h("p", {}, t("absences.none")),
    h("h2", {}, t("absences.list")), list,
    h("h2", {}, t("absences.declared")),
    h("ul", { class: "list" }, data.declarations.map((d: any) => h("li", {},
      `${formatDate(d.start_date)}${d.end_date !== d.start_date ? ` – ${formatDate(d.end_date)}` : ""} — ${t(`absences.type.${d.kind}` as Key)}${d.time ? ` ${d.time}` : ""}`))),
    h("details", { class: "panel", open: data.to_justify.length === 0 }, h("summary", {}, h("h2", {}, t("absences.declare"))), declare),
  ];
}

// -- results, finances, record, contact, resources, messages, re-enrolment --------------------------

async function resultsTile(studentId: string): Promise<HTMLElement[]> {
  const data = await api("GET", `/children/${encodeURIComponent(studentId)}/results`);
  if (!data.bulletins.length && !data.assignments.length && !data.ministry_results.length) return [h("p", {}, t("results.none"))];
  return [
    h("h2", {}, t("results.bulletins")),
    h("ul", { class: "list" }, data.bulletins.map((b: any) => h("li", {}, details(b)))),
    h("h2", {}, t("results.assignments")),
    data.assignments.map((s: any) => h("div", {}, h("h3", {}, s.subject_name),
      h("ul", { class: "list" }, s.results.map((r: any) => h("li", {},
        `${r.title} — ${formatDate(r.date)} : ${r.points ?? "–"} / ${r.out_of ?? "–"}`,
        r.group_average != null ? ` (${t("results.groupAverage")} : ${r.group_average})` : ""))))),
    data.ministry_results.length ? h("h2", {}, t("results.ministry")) : null,
    h("ul", { class: "list" }, data.ministry_results.map((m: any) => h("li", {}, `${m.subject_name} : ${m.mark ?? m.grade ?? ""}`))),
  ].filter(Boolean) as HTMLElement[];
}

async function financesTile(studentId: string): Promise<HTMLElement[]> {
  const [data, receipts] = await Promise.all([
    api("GET", `/children/${encodeURIComponent(studentId)}/statements`),
    api("GET", `/children/${encodeURIComponent(studentId)}/tax-receipts`).catch(() => ({ receipts: [] })),
  ]);
  return [
    h("p", { class: "balance" }, `${t("finances.balance")} : ${cents(data.balance_cents)}`),
    h("p", { class: "notice" }, t("finances.payAtBank")),
    h("h2", {}, t("finances.statements")),
    data.statements.length ? h("ul", { class: "list" }, data.statements.map((s: any) => h("li", {}, details(s)))) : h("p", {}, t("finances.none")),
    h("h2", {}, t("finances.taxReceipts")),
    h("ul", { class: "list" }, receipts.receipts.map((r: any) => h("li", {}, `${r.year} · ${r.form} · ${cents(r.amount_cents)}`))),
  ];
}

async function recordTile(studentId: string): Promise<HTMLElement[]> {
  const path = `/children/${encodeURIComponent(studentId)}/record`;
  const data = await api("GET", path);
  const s = data.student;
  const correctionField = field("field", t("record.field"), select(["address", "phone", "guardian_email"].map((f) => [f, t(`record.field.${f}` as Key)])));
  const value = field("requested_value", t("record.value"), input("text", { maxlength: 200 }));
  const comment = field("comment", t("record.comment"), h("textarea", { maxlength: 500, rows: 2 }) as HTMLTextAreaElement, undefined, true);
  const fields = [correctionField, value, comment];
  const form = h("form", { novalidate: true }, ...fields.map((f) => f.wrapper), h("div", { class: "actions" },
    h("button", { class: "primary" }, t("form.submit")))) as HTMLFormElement;
  form.onsubmit = async (e) => {
    e.preventDefault();
    if (!checkLocally(form, fields)) return;
    try {
      await api("POST", `${path}/corrections`, { field: correctionField.input.value, requested_value: value.input.value,
        comment: comment.input.value || null });
      form.replaceChildren(status(t("record.correctionSent")));
    } catch (error) { apiFailure(form, fields, error); }
  };
  return [
    h("dl", { class: "facts" },
      h("dt", {}, t("link.lastName")), h("dd", {}, s.last_name), h("dt", {}, t("link.firstName")), h("dd", {}, s.first_name),
      h("dt", {}, t("link.birthDate")), h("dd", {}, formatDate(s.birth_date)),
      h("dt", {}, t("link.studentNumber")), h("dd", {}, s.student_number ?? "")),
    h("h2", {}, t("record.subjects")),
    h("ul", { class: "list" }, data.courses.map((c: any) => h("li", {}, h("strong", {}, c.name), " ",
      c.teacher_name ? (c.teacher_email ? h("a", { href: `mailto:${c.teacher_email}` }, t("record.taughtBy", { teacher: c.teacher_name }))
        : t("record.taughtBy", { teacher: c.teacher_name })) : ""))),
    h("h2", {}, t("record.transport")),
    data.transport ? details(data.transport) : h("p", {}, "—"),
    h("details", { class: "panel" }, h("summary", {}, h("h2", {}, t("record.correction"))), form),
  ];
}

async function contactTile(studentId: string): Promise<HTMLElement[]> {
  const { school, org } = await api("GET", `/children/${encodeURIComponent(studentId)}/contact`);
  const address = school.address ? `${school.address.street}, ${school.address.city} ${school.address.postal_code}` : "";
  return [h("h2", {}, school.name), h("p", {}, org.name ?? ""),
    h("dl", { class: "facts" },
      h("dt", {}, t("contact.principal")), h("dd", {}, school.principal_name ?? ""),
      h("dt", {}, "Adresse / Address"), h("dd", {}, address),
      h("dt", {}, "Téléphone / Phone"), h("dd", {}, school.phone ? h("a", { href: `tel:${school.phone}` }, school.phone) : ""),
      h("dt", {}, t("account.email")), h("dd", {}, school.email ? h("a", { href: `mailto:${school.email}` }, school.email) : "")),
    h("ul", { class: "list" }, (school.contacts ?? []).map((c: any) => h("li", {}, `${c.role} — ${c.name} ${c.phone ?? ""} ${c.email ?? ""}`)))];
}

async function resourcesTile(studentId: string): Promise<HTMLElement[]> {
  const data = await api("GET", `/children/${encodeURIComponent(studentId)}/resources`);
  return [h("ul", { class: "list" }, data.resources.map((r: any) => h("li", {},
    /^https?:\/\//.test(r.url ?? "") ? h("a", { href: r.url, rel: "noopener noreferrer", target: "_blank" }, r.title) : r.title,
    r.description ? h("p", { class: "muted" }, r.description) : null)))];
}

function messagesList(data: any): HTMLElement[] {
  if (!data.messages.length) return [h("p", {}, t("messages.none"))];
  return [h("ul", { class: "list messages" }, data.messages.map((m: any) => {
    const read = button(t("messages.markRead"), { onclick: async () => {
      await api("POST", `/inbox/${encodeURIComponent(m.message_id)}/read`);
      read.remove(); badge.remove();
    } });
    const badge = h("span", { class: "badge warn" }, t("messages.unread"));
    return h("li", {}, h("article", {}, h("h3", {}, m.title), h("p", { class: "muted" }, `${m.author ?? ""} · ${formatDate(m.published_at)}`),
      h("p", { class: "body" }, m.body), m.read ? null : [badge, " ", read]));
  }))];
}

export async function messagesView(): Promise<HTMLElement> {
  return h("section", {}, title(t("messages.title")), messagesList(await api("GET", "/inbox")));
}

async function reenrollmentTile(studentId: string): Promise<HTMLElement[]> {
  const path = `/children/${encodeURIComponent(studentId)}/reenrollment`;
  const data = await api("GET", path);
  if (!data || data.open === false) return [h("p", {}, t("reenrollment.closed"))];
  const answer = async (decision: string) => {
    await api("POST", path, { decision });
    announce(t("reenrollment.done"));
    await navigate(location.pathname, undefined, true);
  };
  return [details(data), h("div", { class: "actions" },
    button(t("reenrollment.confirm"), { class: "primary", onclick: () => answer("confirm") }),
    button(t("reenrollment.decline"), { onclick: () => answer("decline") }))];
}

// -- account ----------------------------------------------------------------------------------------

export async function settingsView(): Promise<HTMLElement> {
  const [me, preferences, feed] = await Promise.all([api("GET", "/me").catch(() => null),
    api("GET", "/preferences").catch(() => null), api("GET", "/calendar-feed").catch(() => null)]);
  const section = h("section", {}, title(t("settings.title")));
  if (me?.email) section.append(h("p", {}, me.email));
  if (preferences) section.append(preferencesForm(preferences));
  if (feed) {
    const address = `${location.origin}/api/v1/calendar/${feed.token}.ics`;
    section.append(h("h2", {}, t("settings.calendar")), h("p", {}, t("settings.calendarHelp")),
      h("p", {}, h("code", { class: "feed" }, address)),
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

function preferencesForm(preferences: any): HTMLElement {
  const form = h("form", { novalidate: true }) as HTMLFormElement;
  const choices: { student_id: string; kind: string; select: HTMLSelectElement }[] = [];
  for (const child of preferences.children ?? []) {
    const rows = Object.entries(child.kinds ?? {}).map(([kind, mode]) => {
      const f = field(`${child.student_id}-${kind}`, kind, select(["instant", "digest", "off"].map((m) => [m, t(`settings.mode.${m}` as Key)])));
      f.input.value = String(mode);
      choices.push({ student_id: child.student_id, kind, select: f.input as HTMLSelectElement });
      return f.wrapper;
    });
    form.append(h("fieldset", {}, h("legend", {}, child.name ?? child.student_id), rows));
  }
  const quiet = preferences.quiet_hours;
  const start = field("quiet_start", t("settings.quietStart"), input("time", { value: quiet?.start ?? "21:00" }), undefined, true);
  const end = field("quiet_end", t("settings.quietEnd"), input("time", { value: quiet?.end ?? "07:00" }), undefined, true);
  form.append(h("fieldset", {}, h("legend", {}, t("settings.quietHours")), start.wrapper, end.wrapper),
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
      form.prepend(status(t("settings.saved")));
    } catch (error) { apiFailure(form, [start, end], error); }
  };
  return h("div", {}, h("h2", {}, t("settings.preferences")), form);
}

// -- generic ----------------------------------------------------------------------------------------

/** Any answer shown as a readable list of its values (keys humanised), for shapes that vary by school. */
export function details(value: any): HTMLElement {
  if (Array.isArray(value)) return h("ul", { class: "list" }, value.map((v) => h("li", {}, details(v))));
  if (value && typeof value === "object") {
    return h("dl", { class: "facts" }, Object.entries(value).filter(([k, v]) => v !== null && !k.endsWith("_id"))
      .map(([k, v]) => [h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, /_cents$/.test(k) ? cents(Number(v)) : details(v))]));
  }
  if (typeof value === "string" && /^https?:\/\//.test(value)) return h("a", { href: value, rel: "noopener noreferrer" }, value);
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) return h("span", {}, formatDate(value));
  return h("span", {}, String(value ?? ""));
}

export function notFound(): HTMLElement {
  return h("section", {}, title(t("notFound")), link("/famille", t("nav.family")));
}
