// A child's tiles, each designed for what it shows: a report card is a table, a week a grid, a
// statement a document. Every screen takes the child's id and the page's query, returns its content.
import { api } from "./api";
import { subjectChart, Point } from "./chart";
import { announce, h } from "./dom";
import { apiFailure, checkLocally, field, Field, input, select, showError, status } from "./forms";
import { formatDate, formatDateTime, formatDay, formatList, formatNumber, formatPercent, formatMonth, formatShortDay, formatTime, has,
  Key, lang, t, today, tParts } from "./i18n";
import { navigate } from "./router";
import { badge, button, cents, Child, children, childPath, downloadButton, gradeLabel, link, name, reflowTable, school } from "./ui";

export type TileScreen = (studentId: string, query: URLSearchParams) => Promise<HTMLElement[]>;
const base = (studentId: string) => `/children/${encodeURIComponent(studentId)}`;

// -- dates ------------------------------------------------------------------------------------------

export function addDays(iso: string, days: number): string {
  const day = new Date(`${iso}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}
const weekday = (iso: string) => new Date(`${iso}T12:00:00Z`).getUTCDay() || 7; // 1 = Monday
export const mondayOf = (iso: string) => addDays(iso, 1 - weekday(iso));

// -- results ----------------------------------------------------------------------------------------

function markText(mark: number | null | undefined, rating?: string | null): string {
  if (mark !== null && mark !== undefined) return formatPercent(mark);
  return rating ?? "—";
}

function bulletinName(b: any): string {
  return b.kind === "first_communication" ? t("results.firstCommunication") : t("results.term", { count: b.term ?? 1 });
}
export const latestBulletinName = bulletinName;

/** A bulletin as a table: one group of rows per subject (its overall result, then each
 * competency); on a phone each group becomes a block whose cells say their column's name. */
function bulletinTable(b: any): HTMLElement {
  const averages = b.subjects.some((s: any) => s.group_average !== undefined && s.group_average !== null);
  const headers = [t("results.subject"), t("results.competency"), t("results.mark"),
    ...(averages ? [t("results.groupAverage")] : []), t("results.comment")];
  const cells = (values: (Node | string | null)[]) => values.map((v, i) => h("td", { "data-label": headers[i + 1] }, v));
  return h("table", { class: "reflow bulletin" },
    h("thead", {}, h("tr", {}, headers.map((label) => h("th", { scope: "col" }, label)))),
    b.subjects.map((s: any) => {
      const competencies = s.competencies ?? [];
      return h("tbody", {},
        h("tr", { class: "overall" },
          h("th", { scope: "rowgroup", rowspan: competencies.length + 1, "data-label": headers[0] }, school(s.name)),
          cells([t("results.overall"), h("strong", {}, markText(s.mark, s.rating)),
            ...(averages ? [s.group_average !== undefined && s.group_average !== null ? formatPercent(s.group_average) : "—"] : []),
            school(s.comment) ?? ""])),
        competencies.map((c: any) => h("tr", {},
          cells([school(c.name), markText(c.mark, c.rating), ...(averages ? [""] : []), school(c.comment) ?? ""]))));
    }));
}

function charts(bulletins: any[]): HTMLElement | null {
  const terms = bulletins.filter((b) => b.kind !== "first_communication" && b.term).sort((a, b) => a.term - b.term);
  if (!terms.length) return null;
  const subjects = new Map<string, string>();
  for (const b of terms) for (const s of b.subjects) subjects.set(s.code ?? s.name, s.name);
  const figures = [...subjects].map(([code, subjectName]) => {
    const points: Point[] = terms.map((b) => {
      const s = b.subjects.find((x: any) => (x.code ?? x.name) === code);
      return { term: b.term, mark: s?.mark ?? null, average: s?.group_average ?? null };
    }).filter((p) => p.mark !== null || p.average !== null);
    return points.length ? subjectChart(subjectName, points) : null;
  }).filter(Boolean);
  if (!figures.length) return null;
  return h("section", { class: "charts" }, h("h3", {}, t("results.evolution")),
    h("p", { class: "legend" }, h("span", { class: "key mark" }), t("results.chartChild"), " ",
      h("span", { class: "key average" }), t("results.groupAverage")),
    h("div", { class: "chart-grid" }, figures));
}

export const resultsTile: TileScreen = async (studentId, query) => {
  const wanted = query.get("annee");
  const data = await api("GET", `${base(studentId)}/results${wanted ? `?school_year=${encodeURIComponent(wanted)}` : ""}`);
  const years: string[] = data.school_years ?? [data.school_year];
  const current = years[0];
  const chooser = years.length > 1 ? (() => {
    const choice = select(years.map((y) => [y, y === current ? t("results.currentYear", { year: y }) : y]), { id: "school-year" });
    choice.value = data.school_year;
    choice.addEventListener("change", () => void navigate(`${childPath(studentId, "results")}?annee=${encodeURIComponent(choice.value)}`));
    return h("div", { class: "switcher" }, h("label", { for: "school-year" }, t("results.year")), choice);
  })() : h("p", {}, t("results.year"), " ", data.school_year);

  const ordered = [...data.bulletins].sort((a: any, b: any) =>
    (a.kind === "first_communication" ? 0 : a.term ?? 9) - (b.kind === "first_communication" ? 0 : b.term ?? 9));
  const bulletins = ordered.length ? ordered.map((b: any) => h("article", { class: "document", "data-bulletin": b.bulletin_id },
    h("h3", {}, bulletinName(b)),
    h("p", { class: "muted" }, t("results.publishedOn", { date: formatDate(b.published_at) })),
    bulletinTable(b),
    downloadButton(t("results.download"), `${base(studentId)}/bulletins/${encodeURIComponent(b.bulletin_id)}/pdf`,
      `bulletin-${b.school_year}-${b.kind === "first_communication" ? "premiere-communication" : `etape-${b.term}`}.pdf`)))
    : [h("p", {}, t("results.noBulletin"))];

  const assignments = data.assignments.length ? data.assignments.map((s: any) => {
    const averages = s.results.some((r: any) => r.group_average !== undefined && r.group_average !== null);
    const weights = s.results.some((r: any) => r.weight !== null && r.weight !== undefined);
    return h("section", { class: "subject" }, h("h3", {}, school(s.subject_name)),
      reflowTable(null, [t("results.assignment"), t("results.date"), t("results.mark"),
        ...(weights ? [t("results.weight")] : []), ...(averages ? [t("results.groupAverage")] : []), t("results.comment")],
      s.results.map((r: any) => [school(r.title), formatDate(r.date),
        r.points !== null && r.out_of ? t("results.points", { points: r.points, outOf: r.out_of }) : "—",
        ...(weights ? [r.weight !== null && r.weight !== undefined ? formatPercent(r.weight) : "—"] : []),
        ...(averages ? [r.group_average !== null && r.group_average !== undefined ? formatPercent(r.group_average) : "—"] : []),
        school(r.comment) ?? ""])));
  }) : [h("p", {}, t("results.noAssignment"))];

  return [
    chooser,
    h("h2", {}, t("results.bulletins")), ...bulletins,
    charts(data.bulletins),
    h("h2", {}, t("results.assignments")), ...assignments,
    data.ministry_results.length ? h("h2", {}, t("results.ministry")) : null,
    data.ministry_results.length ? reflowTable(null, [t("results.subject"), t("record.grade"), t("results.mark")],
      data.ministry_results.map((m: any) => [school(m.subject_name), gradeLabel(m.grade) || "—",
        h("span", {}, markText(m.mark, null), " ", m.passed === true ? badge(t("results.passed"), "ok")
          : m.passed === false ? badge(t("results.failed"), "late") : null)]))
      : null,
  ].filter(Boolean) as HTMLElement[];
};

// -- absences ---------------------------------------------------------------------------------------

const ALLOWED_DOCUMENTS = ["application/pdf", "image/jpeg", "image/png"];
const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024; // the attendance service's limit

function reasonOptions(reasons: any[]): [string, string][] {
  return reasons.map((r) => [r.code, (lang === "fr" ? r.label_fr : r.label_en) ?? r.code]);
}

function describeAbsence(a: any): string {
  const period = a.period === "period" ? t("absences.period.period", { number: a.period_number ?? "" })
    : t(`absences.period.${a.period}` as Key);
  const late = a.kind === "lateness" && a.minutes_late ? ` · ${t("absences.minutesLate", { minutes: a.minutes_late })}` : "";
  return `${formatDate(a.date)} — ${t(`absences.kind.${a.kind}` as Key)} · ${period}${late}`;
}

/** The supporting document as the service takes it, or the reason it cannot be sent. */
async function readDocument(file: File): Promise<{ content_type: string; content_base64: string } | string> {
  if (!ALLOWED_DOCUMENTS.includes(file.type)) return t("absences.documentType");
  if (file.size === 0) return t("absences.documentEmpty");
  if (file.size > MAX_DOCUMENT_BYTES) {
    return t("absences.documentTooLarge", { size: formatNumber(file.size / (1024 * 1024), 1) });
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { content_type: file.type, content_base64: btoa(binary) };
}

export const absencesTile: TileScreen = async (studentId) => {
  const path = `${base(studentId)}/absences`;
  const data = await api("GET", path);
  const reasons = reasonOptions(data.reasons ?? []);
  const reasonLabel = (code: string | null) => reasons.find(([c]) => c === code)?.[1] ?? null;
  const refresh = async () => navigate(location.pathname, undefined, true);

  const toJustify = h("ul", { class: "list plain" }, data.to_justify.map((a: any) => {
    const reason = field("reason_code", t("absences.reason"), select(reasons));
    const explanation = field("explanation", t("absences.explanation"), h("textarea", { maxlength: 500, rows: 2 }) as HTMLTextAreaElement, undefined, true);
    const document = field("document", t("absences.document"), input("file", { accept: ALLOWED_DOCUMENTS.join(",") }),
      t("absences.documentHelp"), true);
    const fields: Field[] = [reason, explanation, document];
    const form = h("form", { novalidate: true, class: "inline" }, reason.wrapper, explanation.wrapper, document.wrapper,
      h("div", { class: "actions" }, h("button", { class: "primary" }, t("form.submit")))) as HTMLFormElement;
    const file = () => (document.input as HTMLInputElement).files?.[0];
    const refuse = (message: string) => showError(form, fields, message, "document");
    document.input.addEventListener("change", async () => {
      const chosen = file();
      if (!chosen) return;
      const read = await readDocument(chosen);
      if (typeof read === "string") refuse(read);
      else document.wrapper.querySelector<HTMLElement>(".error")!.hidden = true;
    });
    form.onsubmit = async (e) => {
      e.preventDefault();
      if (!checkLocally(form, fields)) return;
      const chosen = file();
      const attached = chosen ? await readDocument(chosen) : null;
      if (typeof attached === "string") return refuse(attached);
      try {
        await api("POST", `${path}/${encodeURIComponent(a.absence_id)}/justification`, {
          reason_code: reason.input.value, explanation: explanation.input.value || null, document: attached });
        announce(t("absences.justifiedSent"));
        await refresh();
      } catch (error) { apiFailure(form, fields, error); }
    };
    return h("li", {}, h("details", { class: "panel" }, h("summary", {}, `${describeAbsence(a)} — ${t("absences.justify")}`), form));
  }));

  const list = data.absences.length
    ? h("ul", { class: "list plain" }, data.absences.map((a: any) => h("li", { "data-absence": a.absence_id },
      describeAbsence(a), " ",
      a.justified ? badge(t("absences.justified"), "ok") : a.requires_justification ? badge(t("absences.notJustified"), "warn") : null,
      a.justified && reasonLabel(a.reason_code) ? h("span", { class: "muted" }, ` ${t("absences.reasonGiven", { reason: reasonLabel(a.reason_code)! })}`) : null)))
    : h("p", {}, t("absences.none"));

  const start = field("start_date", t("absences.startDate"), input("date", { min: today() }));
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
    h("h2", {}, t("absences.toJustify")), data.to_justify.length ? toJustify : h("p", {}, t("family.toJustify", { count: 0 })),
    h("h2", {}, t("absences.list")), list,
    data.declarations.length ? h("h2", {}, t("absences.declared")) : null,
    data.declarations.length ? h("ul", { class: "list plain" }, data.declarations.map((d: any) => h("li", {},
      `${d.end_date !== d.start_date ? t("absences.from", { start: formatDate(d.start_date), end: formatDate(d.end_date) })
        : formatDate(d.start_date)} — ${t(`absences.type.${d.kind}` as Key)}${d.time ? ` ${t("absences.at", { time: formatTime(d.time) })}` : ""}`,
      reasonLabel(d.reason_code) ? h("span", { class: "muted" }, ` · ${reasonLabel(d.reason_code)}`) : null,
      d.explanation ? h("p", { class: "muted" }, school(d.explanation)) : null))) : null,
    h("details", { class: "panel", open: data.to_justify.length === 0 }, h("summary", {}, h("h2", {}, t("absences.declare"))), declare),
  ].filter(Boolean) as HTMLElement[];
};

// -- agenda -----------------------------------------------------------------------------------------

const PEDAGOGICAL = /p[ée]dagogique|pedagogical|professional development/i;

function dayHeading(day: any, cycle: boolean): HTMLElement[] {
  const marks: HTMLElement[] = [];
  if (day.school_day && cycle && day.timetable_day) marks.push(badge(t("agenda.cycleDay", { day: day.timetable_day }), "info"));
  if (!day.school_day) {
    marks.push(badge(day.day_off && PEDAGOGICAL.test(day.day_off) ? t("agenda.pedagogical") : t("agenda.noSchool"), "warn"));
  }
  return marks;
}

/** A period: the course, its room, and its teacher (from the record's courses, by course code). */
function periodCell(p: any, teachers: Map<string, string>): HTMLElement {
  const teacher = teachers.get(p.course_code);
  return h("div", { class: "period" }, h("strong", {}, school(p.course_name ?? p.course_code)),
    p.room ? h("span", {}, tParts("agenda.room", { room: school(p.room)! })) : null,
    teacher ? h("span", {}, tParts("agenda.teacher", { teacher: school(teacher)! })) : null);
}

export const agendaTile: TileScreen = async (studentId, query) => {
  const asked = query.get("semaine");
  const monday = mondayOf(asked && /^\d{4}-\d{2}-\d{2}$/.test(asked) ? asked : today());
  const friday = addDays(monday, 4);
  const [data, record] = await Promise.all([api("GET", `${base(studentId)}/agenda?start=${monday}&end=${friday}`),
    api("GET", `${base(studentId)}/record`).catch(() => null)]);
  const teachers = new Map<string, string>((record?.courses ?? []).filter((c: any) => c.teacher_name)
    .map((c: any) => [c.code, c.teacher_name]));
  const days: any[] = data.days.filter((d: any) => weekday(d.date) <= 5);
  // A weekly timetable numbers its days by weekday; a cycle (e.g. 9 days) does not.
  const cycle = days.some((d) => d.timetable_day && d.timetable_day !== weekday(d.date));
  const slots = [...new Map(days.flatMap((d) => d.periods).map((p: any) => [`${p.start}-${p.end}`, p])).values()]
    .sort((a: any, b: any) => a.start.localeCompare(b.start));
  const week = (to: string) => `${childPath(studentId, "agenda")}?semaine=${to}`;
  const now = today();

  const grid = h("table", { class: "week-grid" },
    h("caption", { class: "visually-hidden" }, t("agenda.week", { start: formatDay(monday), end: formatDay(friday, true) })),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("agenda.time")), days.map((d) =>
      h("th", { scope: "col", class: d.date === now ? "today" : undefined, "aria-current": d.date === now ? "date" : undefined },
        formatDay(d.date), h("div", { class: "marks" }, dayHeading(d, cycle)))))),
    h("tbody", {},
      slots.length ? slots.map((slot: any) => h("tr", {},
        h("th", { scope: "row" }, `${formatTime(slot.start)} – ${formatTime(slot.end)}`),
        days.map((d) => {
          // A day without school is one cell down the whole day.
          if (!d.school_day) return slot === slots[0] ? h("td", { class: "off", rowspan: slots.length }, d.day_off ? school(d.day_off) : "") : null;
          const p = d.periods.find((x: any) => x.start === slot.start && x.end === slot.end);
          return h("td", {}, p ? periodCell(p, teachers) : "");
        })))
        : h("tr", {}, h("td", { colspan: days.length + 1 }, t("agenda.noPeriod")))));

  // On a phone: one day at a time, chosen by a row of day buttons.
  const first = days.find((d) => d.date === now) ?? days[0];
  const dayPanels = days.map((d) => h("section", { class: "day-panel", "data-day": d.date, hidden: d !== first },
    h("h3", {}, formatDay(d.date), " ", dayHeading(d, cycle)),
    !d.school_day ? h("p", {}, d.day_off ? t("agenda.dayOff", { label: d.day_off }) : t("agenda.noSchool"))
      : d.periods.length ? h("ol", { class: "periods" }, d.periods.map((p: any) => h("li", {},
        h("span", { class: "when" }, `${formatTime(p.start)} – ${formatTime(p.end)}`), periodCell(p, teachers))))
        : h("p", {}, t("agenda.noPeriod"))));
  const dayButtons = h("div", { class: "day-tabs", role: "group", "aria-label": t("agenda.chooseDay") }, days.map((d) =>
    h("button", { type: "button", "aria-pressed": d === first ? "true" : "false", onclick: (e: Event) => {
        dayPanels.forEach((panel) => (panel.hidden = panel.dataset.day !== d.date));
        dayButtons.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === e.currentTarget)));
      } }, formatShortDay(d.date), h("span", { class: "visually-hidden" }, ` ${formatMonth(d.date)}`))));

  const bell = data.bell_times?.[0];
  return [
    h("h2", {}, t("agenda.week", { start: formatDay(monday), end: formatDay(friday, true) })),
    h("nav", { class: "actions week-nav", "aria-label": t("agenda.title") },
      link(week(addDays(monday, -7)), `← ${t("agenda.previous")}`, { class: "button" }),
      monday !== mondayOf(now) ? link(week(mondayOf(now)), t("agenda.thisWeek"), { class: "button" }) : null,
      link(week(addDays(monday, 7)), `${t("agenda.next")} →`, { class: "button" })),
    bell ? h("p", { class: "muted" }, t("agenda.bell", { start: formatTime(bell.start), end: formatTime(bell.end) })) : null,
    h("div", { class: "week-desktop" }, grid),
    h("div", { class: "week-phone" }, dayButtons, dayPanels),
    h("h2", {}, t("agenda.detentions")),
    data.detentions.length ? h("ul", { class: "list plain" }, data.detentions.map((d: any) => h("li", { class: "detention" },
      h("strong", {}, t("agenda.detention", { date: formatDay(d.date), start: formatTime(d.start), end: formatTime(d.end) })),
      d.location ? h("div", {}, tParts("agenda.place", { place: school(d.location)! })) : null,
      d.reason ? h("div", {}, tParts("agenda.reason", { reason: school(d.reason)! })) : null)))
      : h("p", {}, t("agenda.noDetention")),
  ].filter(Boolean) as HTMLElement[];
};

// -- homework ---------------------------------------------------------------------------------------

export function homeworkGroup(due: string, now: string): "overdue" | "today" | "thisWeek" | "later" {
  if (due < now) return "overdue";
  if (due === now) return "today";
  return due <= addDays(mondayOf(now), 6) ? "thisWeek" : "later";
}

export const homeworkTile: TileScreen = async (studentId) => {
  const items: any[] = await api("GET", `${base(studentId)}/homework`);
  if (!items.length) return [h("p", {}, t("homework.none"))];
  const now = today();
  const groups = (["overdue", "today", "thisWeek", "later"] as const).map((group) => {
    const mine = items.filter((i) => homeworkGroup(i.due_on, now) === group);
    if (!mine.length) return null;
    return h("section", { class: `homework ${group}` }, h("h2", {}, t(`homework.${group}` as Key)),
      h("ul", { class: "list plain cards-list" }, mine.map((i) => h("li", { class: "card" },
        h("p", { class: "muted" }, school(i.subject_name ?? i.subject_code),
          has(`homework.kind.${i.kind}`) ? ` · ${t(`homework.kind.${i.kind}` as Key)}` : ""),
        h("h3", {}, school(i.title)),
        i.description ? h("p", {}, school(i.description)) : null,
        h("p", { class: "muted" }, t("homework.due", { date: formatDay(i.due_on) }), " · ",
          t("homework.assigned", { date: formatDate(i.assigned_on) }))))));
  });
  return groups.filter(Boolean) as HTMLElement[];
};

// -- finances ---------------------------------------------------------------------------------------

export type StatementStatus = "paid" | "due" | "late" | "credit";
export function statementStatus(s: { balance_cents: number; due_date: string }, now: string): StatementStatus {
  if (s.balance_cents < 0) return "credit";
  if (s.balance_cents === 0) return "paid";
  return s.due_date < now ? "late" : "due";
}
const STATUS_TONE = { paid: "ok", due: "warn", late: "late", credit: "info" } as const;

function statementView(s: any, payee: string, now: string): HTMLElement {
  const state = statementStatus(s, now);
  const paid = s.total_cents - s.balance_cents;
  return h("article", { class: "document statement", "data-statement": s.statement_id },
    h("h3", {}, t("finances.statementTitle", { kind: t(`finances.kind.${s.kind}` as Key), period: s.period }), " ",
      badge(t(`finances.status.${state}` as Key), STATUS_TONE[state])),
    h("p", { class: "muted" }, t("finances.issuedOn", { date: formatDate(s.issued_on) }), " · ",
      h("strong", {}, t("finances.dueOn", { date: formatDate(s.due_date) }))),
    h("table", { class: "lines" },
      h("caption", { class: "visually-hidden" }, t("finances.lines")),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("finances.item")), h("th", { scope: "col", class: "amount" }, t("finances.amount")))),
      h("tbody", {}, s.lines.map((l: any) => h("tr", {}, h("td", {}, school(l.description)), h("td", { class: "amount" }, cents(l.amount_cents))))),
      h("tfoot", {},
        h("tr", {}, h("th", { scope: "row" }, t("finances.total")), h("td", { class: "amount" }, cents(s.total_cents))),
        h("tr", {}, h("th", { scope: "row" }, t("finances.paid")), h("td", { class: "amount" }, cents(paid))),
        h("tr", { class: "balance-row" }, h("th", { scope: "row" }, t("finances.balance")), h("td", { class: "amount" }, cents(s.balance_cents))))),
    h("h4", {}, t("finances.payments")),
    s.payments.length ? h("ul", { class: "list" }, s.payments.map((p: any) =>
      h("li", {}, t("finances.payment", { date: formatDate(p.paid_on), amount: cents(p.amount_cents) }))))
      : h("p", { class: "muted" }, t("finances.noPayment")),
    s.payment_reference && s.balance_cents > 0 ? h("div", { class: "notice pay" },
      h("p", {}, h("strong", {}, t("finances.reference", { reference: s.payment_reference }))),
      h("p", {}, tParts("finances.howToPay", { payee: school(payee)! }))) : null);
}

const receiptForm = (form: string) => t(form === "RL-24" ? "finances.receipt.RL-24" : "finances.receipt.federal");

export const financesTile: TileScreen = async (studentId) => {
  const [data, receipts, kids] = await Promise.all([
    api("GET", `${base(studentId)}/statements`),
    api("GET", `${base(studentId)}/tax-receipts`).catch(() => ({ receipts: [] })),
    children(),
  ]);
  const child = kids.find((c) => c.student_id === studentId);
  const payee = child?.org.name ?? child?.school.name ?? "";
  const now = today();
  const years = [...new Set<number>(receipts.receipts.map((r: any) => r.year))];
  return [
    h("p", { class: "balance" }, t("family.balance", { amount: cents(data.balance_cents) })),
    h("h2", {}, t("finances.statements")),
    ...(data.statements.length ? data.statements.map((s: any) => statementView(s, payee, now)) : [h("p", {}, t("finances.none"))]),
    h("h2", {}, t("finances.taxReceipts")),
    ...(years.length ? years.map((year) => h("section", { class: "receipts" }, h("h3", {}, t("finances.receiptYear", { year: String(year) })),
      h("ul", { class: "list plain" }, receipts.receipts.filter((r: any) => r.year === year).map((r: any) => h("li", { class: "document" },
        h("p", {}, h("strong", {}, receiptForm(r.form)), " · ", cents(r.amount_cents)),
        h("p", { class: "muted" }, school(r.recipient_name), " · ", t("finances.receiptIssued", { date: formatDate(r.issued_on) })),
        downloadButton(t("finances.downloadReceipt"), `${base(studentId)}/tax-receipts/${encodeURIComponent(r.receipt_id)}/pdf`,
          `releve-24-${r.year}.pdf`))))))
      : [h("p", {}, t("finances.noReceipt"))]),
  ];
};

// -- record, contact, resources, re-enrolment -------------------------------------------------------

export const recordTile: TileScreen = async (studentId) => {
  const path = `${base(studentId)}/record`;
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
  const bus = data.transport;
  const facts = (pairs: [string, Node | string | null][]) => h("dl", { class: "facts" },
    pairs.filter(([, v]) => v !== null && v !== "").map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  return [
    h("h2", {}, t("record.identity")),
    facts([[t("record.name"), school(name(s))], [t("link.birthDate"), formatDate(s.birth_date)],
      [t("record.grade"), gradeLabel(s.grade, s.group) || null], [t("record.studentNumber"), s.student_number ?? null],
      [t("record.permanentCode"), s.permanent_code ?? null]]),
    h("h2", {}, data.school_year ? t("record.schoolYear", { year: data.school_year }) : t("record.subjects")),
    data.courses.length ? reflowTable(null, [t("record.course"), t("record.teacher"), t("record.group")],
      data.courses.map((c: any) => [school(c.name), c.teacher_name ? (c.teacher_email
        ? h("a", { href: `mailto:${c.teacher_email}`, translate: "no" }, c.teacher_name) : school(c.teacher_name)) : "—",
      c.group ?? "—"])) : h("p", {}, t("record.noCourse")),
    h("h2", {}, t("record.transport")),
    bus ? facts([[t("record.route"), school(bus.route)], [t("record.stop"), school(bus.stop)],
      [t("record.morning"), formatTime(bus.morning_pickup)], [t("record.afternoon"), formatTime(bus.afternoon_dropoff)]])
      : h("p", {}, t("record.noTransport")),
    h("details", { class: "panel" }, h("summary", {}, h("h2", {}, t("record.correction"))), form),
  ];
};

export const contactTile: TileScreen = async (studentId) => {
  const { school: s, org } = await api("GET", `${base(studentId)}/contact`);
  const address = s.address ? h("address", { translate: "no" }, s.address.street, h("br"),
    `${s.address.city} (${s.address.province ?? "QC"}) `, h("span", { class: "nowrap" }, s.address.postal_code)) : null;
  const pairs: [string, Node | string | null][] = [
    [t("contact.principal"), school(s.principal_name)],
    [t("contact.address"), address],
    [t("contact.phone"), s.phone ? h("a", { href: `tel:${s.phone.replace(/[^0-9+]/g, "")}` }, s.phone) : null],
    [t("contact.email"), s.email ? h("a", { href: `mailto:${s.email}`, class: "wrap" }, s.email) : null],
    [t("contact.website"), s.website && /^https?:\/\//.test(s.website) ? h("a", { href: s.website, rel: "noopener noreferrer", class: "wrap" },
      s.website.replace(/^https?:\/\//, "").replace(/\/$/, "")) : null],
    [t("contact.board"), school(org.name)],
  ];
  return [h("h2", {}, school(s.name)),
    h("dl", { class: "facts" }, pairs.filter(([, v]) => v).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    (s.contacts ?? []).length ? h("h2", {}, t("contact.people")) : null,
    h("ul", { class: "list plain cards-list" }, (s.contacts ?? []).map((c: any) => h("li", { class: "card" },
      h("h3", {}, school(c.role)), h("p", {}, school(c.name)),
      c.phone ? h("p", {}, h("a", { href: `tel:${c.phone.replace(/[^0-9+]/g, "")}` }, c.phone)) : null,
      c.email ? h("p", {}, h("a", { href: `mailto:${c.email}`, class: "wrap" }, c.email)) : null)))]
    .filter(Boolean) as HTMLElement[];
};

export const resourcesTile: TileScreen = async (studentId) => {
  const data = await api("GET", `${base(studentId)}/resources`);
  if (!data.resources.length) return [h("p", {}, t("resources.none"))];
  return [h("ul", { class: "list plain cards-list" }, data.resources.map((r: any) => h("li", { class: "card" },
    h("p", { class: "muted" }, r.kind === "document" ? t("resources.document") : t("resources.link")),
    /^https?:\/\//.test(r.url ?? "") ? h("a", { href: r.url, rel: "noopener noreferrer", target: "_blank", translate: "no" }, r.title)
      : school(r.title),
    r.description ? h("p", { class: "muted" }, school(r.description)) : null)))];
};

export const reenrollmentTile: TileScreen = async (studentId) => {
  const path = `${base(studentId)}/reenrollment`;
  const data = await api("GET", path);
  if (!data?.period) return [h("p", {}, t("reenrollment.closed"))];
  const p = data.period;
  const answer = async (decision: string) => {
    await api("POST", path, { decision });
    announce(t("reenrollment.done"));
    await navigate(location.pathname, undefined, true);
  };
  return [
    h("p", {}, t("reenrollment.period", { year: p.school_year, start: formatDate(p.opens_on), end: formatDate(p.closes_on) })),
    h("p", {}, badge(data.open ? t("reenrollment.isOpen") : t("reenrollment.notOpen"), data.open ? "ok" : "warn")),
    data.answer ? h("p", { class: "notice" }, t(`reenrollment.answer.${data.answer.decision}` as Key,
      { date: formatDate(data.answer.submitted_at) })) : null,
    data.open && !data.principal ? h("p", {}, t("reenrollment.notPrincipal")) : null,
    data.open && data.principal ? h("div", { class: "actions" },
      button(t("reenrollment.confirm"), { class: "primary", onclick: () => answer("confirm") }),
      button(t("reenrollment.decline"), { onclick: () => answer("decline") })) : null,
  ].filter(Boolean) as HTMLElement[];
};

// -- messages -------------------------------------------------------------------------------------

/** The school's messages, unread ones marked; the count above follows the marks. */
export function messagesList(data: any, kids: Child[]): HTMLElement[] {
  if (!data.messages.length) return [h("p", {}, t("messages.none"))];
  let unread = data.messages.filter((m: any) => !m.read).length;
  const count = h("p", { class: "unread-count", "data-unread": unread }, t("messages.count", { count: unread }));
  const names = (ids: string[]) => ids.map((id) => kids.find((c) => c.student_id === id)?.first_name).filter(Boolean) as string[];
  return [count, h("ul", { class: "list plain messages" }, data.messages.map((m: any) => {
    const read = button(t("messages.markRead"), { onclick: async () => {
      await api("POST", `/inbox/${encodeURIComponent(m.message_id)}/read`);
      read.remove(); flag.remove(); item.classList.remove("unread");
      unread -= 1;
      count.dataset.unread = String(unread);
      count.textContent = t("messages.count", { count: unread });
      announce(count.textContent);
    } });
    const flag = badge(t("messages.unread"), "warn");
    const concerned = names(m.student_ids ?? []);
    const item = h("li", { class: m.read ? "message" : "message unread", "data-message": m.message_id },
      h("article", {}, h("h3", {}, school(m.title)),
        h("p", { class: "muted" }, m.author ? [school(m.author), `, ${formatDateTime(m.published_at)}`]
          : t("messages.on", { date: formatDateTime(m.published_at) })),
        concerned.length ? h("p", { class: "muted" }, tParts("messages.concerns", { names: school(formatList(concerned))! })) : null,
        h("p", { class: "body" }, school(m.body)), m.read ? null : h("div", { class: "actions" }, flag, read)));
    return item;
  }))];
}
