// The gateway's JSON API: the parent's token on every call; errors as ApiError with the
// server's code, message (in the page's language) and field.
import { login, token } from "./auth";
import { announce, h } from "./dom";
import { lang, t } from "./i18n";

// Refused because too many parents are reading at once (503 "overloaded"): wait what the server
// asks (Retry-After) and up to a second more at random, so that the parents turned away do not
// all come back together, saying so on the page; the last refusal is shown as the error.
const BUSY_TRIES = 3;

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public field: string | null) {
    super(message);
  }
}

export async function api<T = any>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", "Accept-Language": lang };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    const bearer = await token();
    if (!bearer) {
      await login();
      throw new ApiError(401, "token_missing", "", null);
    }
    headers.Authorization = `Bearer ${bearer}`;
  }
  let response: Response;
  for (let attempt = 1; ; attempt++) {
    response = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status !== 503 || attempt === BUSY_TRIES || !response.headers.has("Retry-After")) break;
    await busy(Number(response.headers.get("Retry-After")) || 1);
  }
  document.getElementById("busy")?.remove();
  if (response.status === 401 && auth) {
    // An expired or ended session: log in again and come back to this very page.
    await login();
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw await refused(response.status, data);
  }
  return data as T;
}

async function busy(seconds: number): Promise<void> {
  const text = t("error.busy", { seconds });
  const shown = document.getElementById("busy") ?? h("p", { id: "busy", class: "notice", role: "status" });
  shown.textContent = text;
  if (!shown.isConnected) document.querySelector("main")?.prepend(shown);
  announce(text);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + Math.random() * 1000));
}

/** The error of a refused call; a call that asks for a recent login sends the parent to log in
 * again first, back to this page to do it once more. */
async function refused(status: number, data: any): Promise<ApiError> {
  if (status === 403 && data?.code === "recent_login_required") await login(undefined, true);
  return new ApiError(status, data?.code ?? "internal_error", data?.message ?? "", data?.field ?? null);
}

export async function download(path: string, filename: string): Promise<void> {
  const bearer = await token();
  const response = await fetch(`/api/v1${path}`, { headers: { Authorization: `Bearer ${bearer}`, "Accept-Language": lang } });
  if (!response.ok) {
    throw await refused(response.status, await response.json());
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
