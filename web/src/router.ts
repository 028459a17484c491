// History-based routing: the paths are the app's own, the gateway answers them with index.html.
type Render = (path: string) => Promise<void>;
let render: Render = async () => {};
let pending: string | undefined;

export function setRenderer(next: Render): void {
  render = next;
}

/** Go to ``path`` (``replace`` re-renders in place); ``message`` is announced on arrival. */
export async function navigate(path: string, message?: string, replace = false): Promise<void> {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  pending = message;
  await render(path);
}

export function arrivalMessage(): string | undefined {
  const message = pending;
  pending = undefined;
  return message;
}

window.addEventListener("popstate", () => void render(location.pathname + location.search));
