// Login with Keycloak: OIDC authorization code flow with PKCE (oidc-client-ts), tokens kept in
// the tab's session storage, renewed with the refresh token before they expire.
import { User, UserManager, WebStorageStateStore } from "oidc-client-ts";
import { lang } from "./i18n";

let manager: UserManager | null = null;

export async function configure(): Promise<void> {
  const config = await (await fetch("/api/v1/config")).json();
  manager = new UserManager({
    authority: config.issuer,
    client_id: config.client_id,
    redirect_uri: `${location.origin}/callback`,
    post_logout_redirect_uri: `${location.origin}/`,
    response_type: "code",
    scope: "openid",
    automaticSilentRenew: true,
    userStore: new WebStorageStateStore({ store: sessionStorage }),
  });
}

function users(): UserManager {
  if (!manager) throw new Error("auth not configured");
  return manager;
}

export async function currentUser(): Promise<User | null> {
  const user = await users().getUser();
  return user && !user.expired ? user : null;
}

export async function token(): Promise<string | null> {
  const user = await users().getUser();
  if (user && !user.expired) return user.access_token;
  if (user?.refresh_token) {
    try {
      return (await users().signinSilent())?.access_token ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

/** This browser's Keycloak session (the token's ``sid``), to tell it apart among the parent's sessions. */
export async function sessionId(): Promise<string | null> {
  const sid = (await users().getUser())?.profile.sid;
  return typeof sid === "string" ? sid : null;
}

/** Keycloak could not be reached to log in (its address is fetched before leaving the page). */
export class SignInUnavailable extends Error {}

/** To Keycloak, then back to ``back`` (by default the page the parent was on). ``fresh``: the
 * parent proves it is them again even when Keycloak still knows them (OIDC ``prompt=login``), as
 * closing the account and downloading every datum ask. */
export async function login(back: string = location.pathname + location.search, fresh = false): Promise<void> {
  try {
    await users().signinRedirect({ state: back, ui_locales: lang, ...(fresh ? { prompt: "login" } : {}) });
  } catch (error) {
    throw new SignInUnavailable(String(error));
  }
}

/** A fresh login (password or passkey), then Keycloak's passkey registration (its
 * application-initiated action), then back to « Mon compte », which reads how it went. */
export async function loginToAddPasskey(): Promise<void> {
  try {
    await users().signinRedirect({ state: "/compte", ui_locales: lang, prompt: "login",
      extraQueryParams: { kc_action: "webauthn-register-passwordless" } });
  } catch (error) {
    throw new SignInUnavailable(String(error));
  }
}

/** The end of the redirect: the page to go back to (with ``?passkey=success|cancelled|error``
 * after a passkey registration). */
export async function completeLogin(): Promise<string> {
  const action = new URLSearchParams(location.search).get("kc_action_status");
  const user = await users().signinRedirectCallback();
  const back = typeof user.state === "string" && user.state.startsWith("/") ? user.state : "/famille";
  if (action && back === "/compte") return `/compte?passkey=${encodeURIComponent(action)}`;
  return back === "/" ? "/famille" : back;
}

export async function logout(): Promise<void> {
  await users().signoutRedirect({ extraQueryParams: { ui_locales: lang } });
}
