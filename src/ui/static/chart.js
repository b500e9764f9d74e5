// The timeline: an inline SVG bar chart of events and authz denials over time, from the per-hour
// counts of /api/stats. Long ranges are drawn in wider buckets (a few hours, days) so the chart keeps
// at most MAX_BARS bars; hours without events are drawn as empty buckets.

import { svg } from "./dom.js";

const HOUR_MS = 3_600_000;
const MAX_BARS = 120;
const WIDTH = 960;
const HEIGHT = 180;
const PAD = { left: 44, right: 8, top: 10, bottom: 28 };

/**
 * The chart as an <svg>. `stats` is /api/stats's answer (perHour, deniedPerHour); `onPick(from, to)`
 * is called with a bucket's time range (Dates) when its bar is clicked. Returns undefined without events.
 */
export function timelineChart(stats, onPick) {
  const buckets = bucketize(stats.perHour, stats.deniedPerHour);
  if (buckets.length === 0) return undefined;
  const max = Math.max(...buckets.map((b) => b.events));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / buckets.length;
  const barWidth = Math.max(1, slot * 0.8);
  const y = (count) => PAD.top + plotHeight - (count / max) * plotHeight;
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "chart",
    role: "img",
    "aria-label": "events and denials over time",
  });
  chart.append(
    svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0), class: "axis" }),
    svg("text", { x: PAD.left - 6, y: y(max) + 4, class: "tick end", text: String(max) }),
    svg("text", { x: PAD.left - 6, y: y(0), class: "tick end", text: "0" }),
  );
  buckets.forEach((bucket, i) => {
    const x = PAD.left + i * slot + (slot - barWidth) / 2;
    const to = new Date(bucket.start + bucket.widthMs);
    const label = `${hourLabel(new Date(bucket.start))} – ${hourLabel(to)}: ${bucket.events} events, ${bucket.denied} denied`;
    const group = svg(
      "g",
      {
        class: "bucket",
        "data-start": new Date(bucket.start).toISOString(),
        onclick: () => onPick(new Date(bucket.start), to),
      },
      svg("title", { text: label }),
      svg("rect", {
        x,
        y: y(bucket.events),
        width: barWidth,
        height: y(0) - y(bucket.events),
        class: "bar-events",
      }),
      svg("rect", {
        x,
        y: y(bucket.denied),
        width: barWidth,
        height: y(0) - y(bucket.denied),
        class: "bar-denied",
      }),
      // A full-height target, so that a bucket with few events is still easy to click.
      svg("rect", { x: PAD.left + i * slot, y: PAD.top, width: slot, height: plotHeight, class: "hit" }),
    );
    chart.append(group);
  });
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  chart.append(
    svg("text", { x: PAD.left, y: HEIGHT - 8, class: "tick", text: hourLabel(new Date(first.start)) }),
    svg("text", {
      x: WIDTH - PAD.right,
      y: HEIGHT - 8,
      class: "tick end",
      text: hourLabel(new Date(last.start + last.widthMs)),
    }),
  );
  return chart;
}

/** Buckets from the first to the last hour with events, each `widthMs` wide, counts summed. */
function bucketize(perHour, deniedPerHour) {
  if (perHour.length === 0) return [];
  const startOf = (entry) => Date.parse(entry.hour);
  // A loop, not Math.min(...): a spread of ~125,000 hours (14 years) overflows the call stack.
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const entry of perHour) {
    first = Math.min(first, startOf(entry));
    last = Math.max(last, startOf(entry));
  }
  const hours = (last - first) / HOUR_MS + 1;
  const widthMs = Math.ceil(hours / MAX_BARS) * HOUR_MS;
  const count = Math.ceil((last + HOUR_MS - first) / widthMs);
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: first + i * widthMs,
    widthMs,
    events: 0,
    denied: 0,
  }));
  const add = (entries, field) => {
    for (const entry of entries) {
      const bucket = buckets[Math.floor((startOf(entry) - first) / widthMs)];
      if (bucket !== undefined) bucket[field] += entry.count;
    }
  };
  add(perHour, "events");
  add(deniedPerHour, "denied");
  return buckets;
}

/** "2026-11-20 03:00Z" */
function hourLabel(date) {
  return `${date.toISOString().slice(0, 16).replace("T", " ")}Z`;
}
