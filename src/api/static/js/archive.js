// Downloading what is ticked: one file straight from its download URL, anything more
// (several files, or folders) as one zip from GET /api/v1/archive, which streams it.
// A HEAD first checks the ids, so a refusal is said on the page, not shown as JSON.

import { api } from "./api.js";

export const MAX_ARCHIVE_IDS = 200;

const REFUSALS = {
  400: `Pick at most ${MAX_ARCHIVE_IDS} files and folders at once.`,
  403: "Something picked belongs to another account.",
  404: "Something picked is gone; the folder is shown again.",
  429: "Too many requests; wait a moment and try again.",
};

/** The archive URL of ``entries`` (their ids, in order). */
export function archiveUrl(entries) {
  const search = new URLSearchParams(entries.map((entry) => ["id", entry.id]));
  return "/api/v1/archive?" + search.toString();
}

/** Download ``entries``; resolves to a sentence for the page, or throws an ApiError
 * whose message says why the server refused. */
export async function downloadEntries(entries) {
  if (entries.length > MAX_ARCHIVE_IDS) return REFUSALS[400];
  const single = entries.length === 1 && entries[0].kind === "file";
  const url = single ? `/api/v1/download/${encodeURIComponent(entries[0].id)}` : archiveUrl(entries);
  if (!single) {
    try {
      await api("HEAD", url);
    } catch (error) {
      error.message = REFUSALS[error.status] || error.message;
      throw error;
    }
  }
  const link = document.createElement("a");
  link.href = url;
  link.download = "";
  document.body.append(link);
  link.click();
  link.remove();
  return single ? `Downloading ${entries[0].name}.` : `Downloading ${entries.length} items as a zip.`;
}
