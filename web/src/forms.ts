// Form fields with their label, help and error, wired for screen readers; the server's
// message lands next to the field it names.
import { ApiError } from "./api";
import { h, uid } from "./dom";
import { t } from "./i18n";

export type Field = { name: string; wrapper: HTMLElement; input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement };

export function field(name: string, label: string, input: Field["input"], help?: string, optional = false): Field {
  const id = uid(name);
  input.id = id;
  input.name = name;
  const helpId = help ? `${id}-help` : undefined;
  const errorId = `${id}-error`;
  input.setAttribute("aria-describedby", [helpId, errorId].filter(Boolean).join(" "));
  if (!optional) input.required = true;
  const wrapper = h("div", { class: "field" },
    h("label", { for: id }, label, optional ? h("span", { class: "optional" }, ` ${t("form.optional")}`) : null),
    help ? h("p", { class: "help", id: helpId }, help) : null,
    input,
    h("p", { class: "error", id: errorId, hidden: true }));
  return { name, wrapper, input };
}

export const input = (type: string, attrs: Record<string, string | number | boolean> = {}) =>
  h("input", { type, ...attrs }) as HTMLInputElement;

export function select(options: [string, string][], attrs: Record<string, string> = {}): HTMLSelectElement {
  return h("select", attrs, options.map(([value, label]) => h("option", { value }, label))) as HTMLSelectElement;
}

export function clearErrors(form: HTMLElement): void {
  form.querySelectorAll<HTMLElement>(".error").forEach((p) => { p.hidden = true; p.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  form.querySelector(".form-error")?.remove();
}

export function showError(form: HTMLElement, fields: Field[], message: string, fieldName: string | null): void {
  const target = fields.find((f) => f.name === fieldName || fieldName?.startsWith(`${f.name}.`));
  if (target) {
    const slot = target.wrapper.querySelector<HTMLElement>(".error")!;
    slot.textContent = message;
    slot.hidden = false;
    target.input.setAttribute("aria-invalid", "true");
    target.input.focus();
    return;
  }
  const box = h("div", { class: "form-error", role: "alert", tabindex: "-1" }, message);
  form.prepend(box);
  box.focus();
}

/** Check the browser's rules first (comfort); the server's answer is the truth. */
export function checkLocally(form: HTMLFormElement, fields: Field[]): boolean {
  clearErrors(form);
  for (const f of fields) {
    if (!f.input.checkValidity()) {
      showError(form, fields, f.input.validity.valueMissing ? t("form.required") : f.input.validationMessage, f.name);
      return false;
    }
  }
  return true;
}

export function apiFailure(form: HTMLElement, fields: Field[], error: unknown): void {
  if (error instanceof ApiError) showError(form, fields, error.message || t("error.generic"), error.field);
  else showError(form, fields, t("error.generic"), null);
}

export function status(text: string): HTMLElement {
  return h("p", { class: "notice", role: "status" }, text);
}
