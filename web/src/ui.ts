// The pieces every screen is built from: titles, links, buttons, tables that reflow on a phone,
// badges, and the family list the screens share.
import { api, ApiError, download } from "./api";
import { h } from "./dom";
import { formatMoney, Key, t } from "./i18n";
import { navigate } from "./router";

export type Child = { student_id: string; first_name: string; last_name: string; school: { id: string; name: string };
  org: { id: string; name: string }; grade?: string | null; tiles?: string[]; principal?: boolean };
export type Tile = { status: "ok" | "stale" | "unavailable" | "error"; data?: any; as_of?: string; code?: string };

export const title = (text: string) => h("h1", { tabindex: "-1" }, text);
export const link = (href: string, text: string, attrs: Record<string, string> = {}) =>
  h("a", { href, ...attrs, onclick: (e: Event) => { e.preventDefault(); void navigate(href); } }, text);
export const button = (text: string, attrs: Record<string, any> = {}) => h("button", { type: "button", ...attrs }, text);
export const name = (c: Pick<Child, "first_name" | "last_name">) => `${c.first_name} ${c.last_name}`;
export const cents = (value: number) => formatMoney(value / 100);
export const childPath = (studentId: string, tile?: string) =>
  `/enfants/${encodeURIComponent(studentId)}${tile ? `/${tile}` : ""}`;

/** Text the school wrote (names, titles, comments): shown as given, never translated. */
export const school = (text: string | null | undefined, tag = "span") =>
  text ? h(tag, { translate: "no" }, text) : null;

export function failure(error: unknown): HTMLElement {
  const message = error instanceof ApiError && error.message ? error.message : t("error.generic");
  return h("p", { class: "form-error", role: "alert" }, message);
}

export function badge(text: string, tone: "ok" | "warn" | "late" | "info"): HTMLElement {
  return h("span", { class: `badge ${tone}` }, text);
}

type Cell = Node | string | null;
/** A table whose rows become labelled blocks on a phone (each cell says its column's name). */
export function reflowTable(caption: string | null, headers: string[], rows: Cell[][], attrs: Record<string, string> = {}): HTMLElement {
  return h("table", { class: "reflow", ...attrs },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, i) =>
      i === 0 ? h("th", { scope: "row", "data-label": headers[i] }, cell)
        : h("td", { "data-label": headers[i] }, cell))))));
}

/** A wide grid kept whole: it scrolls inside its own box, never the page. */
export function scrollBox(label: string, content: HTMLElement): HTMLElement {
  return h("div", { class: "scroll-box", role: "region", "aria-label": label, tabindex: "0" }, content);
}

/** A button that fetches a document with the parent's token and saves it; says so when it cannot. */
export function downloadButton(text: string, path: string, filename: string): HTMLElement {
  const control = button(text, { class: "download", onclick: async () => {
    control.parentElement?.querySelector(".form-error")?.remove();
    try { await download(path, filename); }
    catch (error) {
      control.after(error instanceof ApiError && error.message ? failure(error)
        : h("p", { class: "form-error", role: "alert" }, t("error.documentDownload")));
    }
  } });
  return control;
}

/** "3e année du primaire · groupe 301" from the school's codes (P3, S4, M). */
export function gradeLabel(grade: string | null | undefined, group?: string | null): string {
  const parts: string[] = [];
  const match = /^([PS])(\d)$/.exec(grade ?? "");
  if (match) parts.push(t(match[1] === "P" ? "grade.primary" : "grade.secondary", { count: Number(match[2]) }));
  else if (grade && /^(M|PM|K)\d?$/.test(grade)) parts.push(t("grade.kindergarten"));
  if (group) parts.push(t("grade.group", { group }));
  return parts.join(" · ");
}

export const tileName = (tile: string) => t(`tile.${tile}` as Key);

let family: Child[] | null = null;
export async function children(refresh = false): Promise<Child[]> {
  if (!family || refresh) family = await api<Child[]>("GET", "/children");
  return family;
}
export function rememberChildren(kids: Child[]): void {
  family = kids;
}
