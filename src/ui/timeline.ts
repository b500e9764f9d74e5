import type { AuditStats } from "../store/query.js";

/** Most bars the page's timeline draws: a longer stretch is counted in buckets of several hours. */
export const MAX_BUCKETS = 120;

const HOUR_MS = 3_600_000;

/** One bar of the timeline: the events and authz denials of `hours` hours from `start`. @internal */
export interface TimelineBucket {
  /** The ISO time the bucket starts. */
  start: string;
  events: number;
  denied: number;
}

/** The timeline /api/stats answers: at most MAX_BUCKETS buckets, each `hours` hours wide. @internal */
export interface Timeline {
  hours: number;
  buckets: TimelineBucket[];
}

/**
 * The hourly counts in buckets, from the first hour with events to the last (hours without events
 * count 0), as few hours wide as keeps them to MAX_BUCKETS: the page draws no more, and the hours of
 * years of events (200,000 of them) made a 12 MB answer.
 * @internal
 */
export function timeline(perHour: AuditStats["perHour"], deniedPerHour: AuditStats["perHour"]): Timeline {
  if (perHour.length === 0) return { hours: 1, buckets: [] };
  // A loop, not Math.min(...): a spread of ~125,000 hours overflows the call stack.
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const { hour } of perHour) {
    first = Math.min(first, Date.parse(hour));
    last = Math.max(last, Date.parse(hour));
  }
  const hours = Math.ceil(((last - first) / HOUR_MS + 1) / MAX_BUCKETS);
  const widthMs = hours * HOUR_MS;
  const buckets = Array.from({ length: Math.floor((last - first) / widthMs) + 1 }, (_, i) => ({
    start: new Date(first + i * widthMs).toISOString(),
    events: 0,
    denied: 0,
  }));
  const add = (entries: AuditStats["perHour"], field: "events" | "denied") => {
    for (const { hour, count } of entries) {
      const bucket = buckets[Math.floor((Date.parse(hour) - first) / widthMs)];
      if (bucket !== undefined) bucket[field] += count;
    }
  };
  add(perHour, "events");
  add(deniedPerHour, "denied");
  return { hours, buckets };
}
