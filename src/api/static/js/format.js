// Sizes, times and durations for people.

const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** ``1.5 MiB``-style sizes, in the binary units quotas are set in. */
export function sizeText(bytes) {
  if (bytes < 1024) return bytes === 1 ? "1 byte" : `${bytes} bytes`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = value < 10 && value !== Math.floor(value) ? 1 : 0;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const DAY = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** An ISO time as the reader's locale writes it. */
export function timeText(iso) {
  return DATE.format(new Date(iso));
}

/** An ISO time's day, as the reader's locale writes it. */
export function dayText(iso) {
  return DAY.format(new Date(iso));
}

/** ``3 s``, ``4 min``, ``1 h 20 min``: how long something still takes. */
export function durationText(seconds) {
  if (!Number.isFinite(seconds)) return "";
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A media type as a short word people read: ``PDF``, ``JPEG image``. */
export function typeText(type) {
  if (!type || type === "application/octet-stream") return "File";
  const [kind, sub] = type.split("/");
  const name = (sub || "").replace(/^(x-|vnd\.)/, "").split(/[+;]/)[0].toUpperCase();
  if (["image", "video", "audio"].includes(kind)) return `${name} ${kind}`;
  if (kind === "text") return name === "PLAIN" ? "Text" : `${name} text`;
  return name || type;
}
