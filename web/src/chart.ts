// A subject's marks across the terms against the group's average: a small SVG drawn from numbers
// only (no library), hidden from screen readers, whose caption says the same in words.
import { formatList, formatPercent, t, tParts } from "./i18n";
import { h } from "./dom";

export type Point = { term: number; mark: number | null; average: number | null };

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 240, HEIGHT = 110, LEFT = 30, RIGHT = 28, TOP = 10, BOTTOM = 22;

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

export function subjectChart(subject: string, points: Point[]): HTMLElement {
  const x = (i: number) => points.length === 1 ? (LEFT + WIDTH - RIGHT) / 2
    : LEFT + (i * (WIDTH - LEFT - RIGHT)) / (points.length - 1);
  // From a round floor below the lowest mark (at most 50) to 100: differences of a few points show.
  const known = points.flatMap((p) => [p.mark, p.average]).filter((v): v is number => v !== null);
  const floor = Math.max(0, Math.min(50, Math.floor((Math.min(...known) - 5) / 10) * 10));
  const y = (mark: number) => TOP + ((100 - mark) * (HEIGHT - TOP - BOTTOM)) / (100 - floor);
  const drawing = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, "aria-hidden": "true",
    focusable: "false", class: "chart" });
  for (const mark of [floor, (floor + 100) / 2, 100]) {
    drawing.append(svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y(mark), y2: y(mark), class: "grid" }),
      svg("text", { x: LEFT - 4, y: y(mark) + 4, "text-anchor": "end", class: "axis" }, String(mark)));
  }
  points.forEach((p, i) => drawing.append(svg("text", { x: x(i), y: HEIGHT - 6, "text-anchor": "middle", class: "axis" },
    t("results.termShort", { count: p.term }))));
  for (const [series, cls] of [["average", "average"], ["mark", "mark"]] as const) {
    const known = points.map((p, i) => [i, p[series]] as const).filter(([, v]) => v !== null) as [number, number][];
    if (known.length > 1) {
      drawing.append(svg("polyline", { points: known.map(([i, v]) => `${x(i)},${y(v)}`).join(" "), class: `line ${cls}` }));
    }
    for (const [i, v] of known) drawing.append(svg("circle", { cx: x(i), cy: y(v), r: cls === "mark" ? 4 : 3, class: `dot ${cls}` }));
  }
  const said = points.map((p) => [
    p.mark !== null ? t("results.chartMark", { mark: formatPercent(p.mark), term: p.term }) : null,
    p.average !== null ? t("results.chartAverage", { mark: formatPercent(p.average) }) : null,
  ].filter(Boolean).join(", "));
  return h("figure", { class: "subject-chart" }, drawing as unknown as HTMLElement,
    h("figcaption", {}, tParts("results.chartAlt", { subject: h("span", { translate: "no" }, subject), marks: formatList(said) })));
}
