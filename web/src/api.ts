// The gateway's JSON API: the parent's token on every call; errors as ApiError with the
// server's code, message (in the page's language) and field.
import { login, token } from "./auth";
import { lang } from "./i18n";

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
  const response = await fetch(`/api/v1${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && auth) {
    // An expired session: log in again and come back to this very page.
    await login();
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiError(response.status, data?.code ?? "internal_error", data?.message ?? "", data?.field ?? null);
  }
  return data as T;
}

export async function download(path: string, filename: string): Promise<void> {
  const bearer = await token();
  const response = await fetch(`/api/v1${path}`, { headers: { Authorization: `Bearer ${bearer}`, "Accept-Language": lang } });
  if (!response.ok) {
    const data = await response.json();
    throw new ApiError(response.status, data.code, data.message, data.field ?? null);
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
