// The timeline: an inline SVG bar chart of events and authz denials over time, one bar per bucket of
// /api/stats's timeline (at most 120: long ranges come in wider buckets, a few hours or days; hours
// without events are empty buckets).

import { svg } from "./dom.js";

const HOUR_MS = 3_600_000;
/**
 * The last time an event can carry, 9999-12-31T23:59:59.999Z (the end of a protobuf Timestamp): a
 * bar of the last hours of 9999 ends there, not in year 10000, which the API's `to` does not take
 * (an ISO time has four digits of year). The store refuses later events. `to` is exclusive: an event
 * at that very millisecond is left out of its bar's list.
 */
const LAST_EVENT_MS = 253_402_300_799_999;
const WIDTH = 960;
const HEIGHT = 180;
const PAD = { left: 44, right: 8, top: 10, bottom: 28 };

/**
 * The chart as an <svg>. `stats` is /api/stats's answer (its timeline); `onPick(from, to)`
 * is called with a bucket's time range (Dates) when its bar is clicked. Returns undefined without events.
 */
export function timelineChart(stats, onPick) {
  const widthMs = stats.timeline.hours * HOUR_MS;
  const buckets = stats.timeline.buckets.map((b) => ({ ...b, start: Date.parse(b.start), widthMs }));
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
    const to = new Date(bucketEnd(bucket));
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
      text: hourLabel(new Date(bucketEnd(last))),
    }),
  );
  return chart;
}

/** Where a bucket ends (ms), the time range's `to`: its start plus its width, at most LAST_EVENT_MS. */
function bucketEnd(bucket) {
  return Math.min(bucket.start + bucket.widthMs, LAST_EVENT_MS);
}

/** "2026-11-20 03:00Z" */
function hourLabel(date) {
  const iso = date.toISOString();
  // Up to the minutes after the "T", not a fixed length: a year outside 0000–9999 has a sign and six digits.
  return `${iso.slice(0, iso.indexOf("T") + 6).replace("T", " ")}Z`;
}
