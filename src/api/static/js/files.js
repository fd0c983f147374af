// The file manager: a folder a page at a time (the API's cursor), sorted, with
// breadcrumbs, the quota bar, new folder, rename, move (by a dialog, or a row dragged
// onto a folder's) and delete (one entry or the ticked ones), downloading the ticked
// ones (a zip of several), and uploads by picker or drag and drop. Moving between
// folders keeps the page (history.pushState), so uploads go on while you browse.

import { api, query } from "./api.js";
import { downloadEntries } from "./archive.js";
import { offerGuestUploads } from "./claims.js";
import { sizeText } from "./format.js";
import { crumbs, entryRow, folderUrl, pathOfUrl } from "./listing.js";
import { MoveDialog } from "./movedialog.js";
import { ShareDialog } from "./sharedialog.js";
import { dropped, pickedFolder } from "./picked.js";
import { rowDragging } from "./rowdrag.js";
import { UploadList } from "./uploadlist.js";
import { UploadQueue } from "./uploads.js";

const PAGE = 100;
const $ = (id) => document.getElementById(id);

const state = {
  path: pathOfUrl(window.location.pathname),
  sort: "name",
  order: "asc",
  cursors: [null], // the cursor of each page seen so far, to go back
  pageIndex: 0,
  nextCursor: null,
  count: null,
  folder: null,
  entries: [],
  selected: new Map(),
  account: null,
};

// -- the folder ----------------------------------------------------------------------

async function load() {
  const cursor = state.cursors[state.pageIndex];
  let page;
  try {
    page = await api(
      "GET",
      "/api/v1/entries?" +
        query({ path: state.path, sort: state.sort, order: state.order, limit: PAGE, cursor }),
    );
  } catch (error) {
    say(error.status === 404 ? "This folder does not exist (any more)." : error.message);
    if (error.status === 404 && state.path) return go("");
    return;
  }
  state.folder = page.folder;
  state.entries = page.entries;
  state.nextCursor = page.nextCursor;
  if (page.count !== null && page.count !== undefined) state.count = page.count;
  state.cursors.length = state.pageIndex + 1;
  if (page.nextCursor) state.cursors.push(page.nextCursor);
  render();
}

function render() {
  crumbs($("crumbs"), state.path);
  const name = state.path ? state.path.split("/").pop() : "Files";
  document.title = `${name} · lockr`;
  $("folder-title").textContent = state.path ? `Files: ${state.path}` : "Files";
  $("listing-caption").textContent = `Contents of ${state.path || "your files"}`;
  const body = $("entries");
  body.replaceChildren(...state.entries.map((e) => entryRow(e, state.selected.has(e.id))));
  $("empty").hidden = state.entries.length > 0;
  $("prev-page").disabled = state.pageIndex === 0;
  $("next-page").disabled = !state.nextCursor;
  const onePage = state.pageIndex === 0 && !state.nextCursor;
  $("prev-page").hidden = onePage;
  $("next-page").hidden = onePage;
  const first = state.pageIndex * PAGE + 1;
  const last = state.pageIndex * PAGE + state.entries.length;
  const total = state.count === null ? "" : ` of ${state.count}`;
  $("folder-count").textContent = state.entries.length
    ? `${first}–${last}${total} ${state.count === 1 ? "entry" : "entries"}`
    : "";
  for (const th of document.querySelectorAll("#listing th[data-sort]")) {
    const sorted = th.dataset.sort === state.sort;
    if (sorted) th.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  }
  $("sort").value = `${state.sort} ${state.order}`;
  showSelection();
}

function go(path, { push = true } = {}) {
  state.path = path;
  state.cursors = [null];
  state.pageIndex = 0;
  state.count = null;
  state.selected.clear();
  if (push) window.history.pushState({ path }, "", folderUrl(path));
  return load();
}

function resort(sort, order) {
  state.sort = sort;
  state.order = order;
  state.cursors = [null];
  state.pageIndex = 0;
  load();
}

async function loadAccount() {
  try {
    const { account } = await api("GET", "/api/v1/account");
    state.account = account;
  } catch (error) {
    return;
  }
  const { usedBytes, reservedBytes, quotaBytes } = state.account;
  const bar = $("quota-bar");
  bar.max = Math.max(quotaBytes, 1);
  bar.value = Math.min(usedBytes + reservedBytes, quotaBytes);
  $("quota-text").textContent = `${sizeText(usedBytes)} of ${sizeText(quotaBytes)} used`;
}

// -- selection ------------------------------------------------------------------------

function showSelection() {
  const count = state.selected.size;
  $("selection").hidden = count === 0;
  $("selected-count").textContent = `${count} selected`;
  const all = $("select-all");
  all.checked = count > 0 && state.entries.every((e) => state.selected.has(e.id));
  all.indeterminate = count > 0 && !all.checked;
}

function entryOf(element) {
  const row = element.closest("tr[data-id]");
  return row && state.entries.find((e) => e.id === row.dataset.id);
}

// -- dialogs --------------------------------------------------------------------------

const nameDialog = $("name-dialog");
const deleteDialog = $("delete-dialog");
const moveDialog = new MoveDialog($("move-dialog"));
const shareDialog = new ShareDialog($("share-dialog"), { onChanged: () => load() });
for (const dialog of [nameDialog, deleteDialog]) {
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
}

/** Ask for a name; ``act(name)`` resolves to an error text, or null when done. */
function askName(title, button, value, act) {
  $("name-title").textContent = title;
  $("name-ok").textContent = button;
  const input = $("name-input");
  input.value = value;
  $("name-error").textContent = "";
  $("name-form").onsubmit = async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    const problem = await act(name);
    if (problem) $("name-error").textContent = problem;
    else nameDialog.close();
  };
  nameDialog.showModal();
  input.focus();
  const dot = value.lastIndexOf(".");
  input.setSelectionRange(0, dot > 0 ? dot : value.length);
}

async function problemOf(call) {
  try {
    await call();
    return null;
  } catch (error) {
    return error.message;
  }
}

function newFolder() {
  askName("New folder", "Create", "", async (name) => {
    const path = state.path ? `${state.path}/${name}` : name;
    const problem = await problemOf(() => api("POST", "/api/v1/folders", { path }));
    if (!problem) {
      say(`Folder “${name}” created.`);
      load();
    }
    return problem;
  });
}

function rename(entry) {
  askName(`Rename “${entry.name}”`, "Rename", entry.name, async (name) => {
    if (name === entry.name) return null;
    const problem = await problemOf(() => api("PATCH", `/api/v1/entries/${entry.id}`, { name }));
    if (!problem) {
      say(`Renamed to “${name}”.`);
      load();
    }
    return problem;
  });
}

/** Do ``call`` for each entry; the errors, one line each, or null. */
async function eachOf(entries, call) {
  const problems = [];
  for (const entry of entries) {
    const problem = await problemOf(() => call(entry));
    if (problem) problems.push(`${entry.name}: ${problem}`);
  }
  return problems.length ? problems.join("\n") : null;
}

async function moveInto(entries, folder) {
  const problem = await eachOf(entries, (entry) =>
    api("PATCH", `/api/v1/entries/${entry.id}`, { parentId: folder.id }),
  );
  state.selected.clear();
  await load();
  if (!problem) say(`Moved to ${folder.path || "your files"}.`);
  return problem;
}

function move(entries) {
  moveDialog.open(entries, state.path, (folder) => moveInto(entries, folder));
}

function remove(entries) {
  const folders = entries.some((e) => e.kind === "folder");
  const names = entries.length === 1 ? `“${entries[0].name}”` : `${entries.length} items`;
  $("delete-title").textContent = `Delete ${names}?`;
  $("delete-what").textContent = folders
    ? "Folders are deleted with everything in them. This cannot be undone."
    : "This cannot be undone.";
  $("delete-error").textContent = "";
  $("delete-form").onsubmit = async (event) => {
    event.preventDefault();
    const problem = await eachOf(entries, (entry) =>
      api("DELETE", `/api/v1/entries/${entry.id}`),
    );
    state.selected.clear();
    await load();
    loadAccount();
    if (problem) $("delete-error").textContent = problem;
    else {
      deleteDialog.close();
      say(`Deleted ${names}.`);
    }
  };
  deleteDialog.showModal();
}

// -- uploads --------------------------------------------------------------------------

const uploadList = new UploadList($("uploads"), $("uploads-panel"));
const queue = new UploadQueue(uploadList, {
  onFinished(upload) {
    if (upload.state !== "done") return;
    if (upload.folder === state.path || upload.folder.startsWith(state.path ? state.path + "/" : "")) {
      scheduleReload();
    }
    loadAccount();
  },
});

let reloadTimer = null;
function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(load, 250);
}

/** Queue ``items`` ({file, folder}), checked against the account's limits first. */
async function upload(items) {
  if (!items.length) return;
  await loadAccount();
  const account = state.account;
  const limits = account
    ? {
        maxObjectSize: account.maxObjectSize,
        free: account.quotaBytes - account.usedBytes - account.reservedBytes,
      }
    : { maxObjectSize: Infinity, free: Infinity };
  queue.add(items, limits);
}

async function makeFolders(paths) {
  for (const path of paths) {
    const parts = path.split("/");
    for (let depth = 1; depth <= parts.length; depth++) {
      const at = parts.slice(0, depth).join("/");
      await api("POST", "/api/v1/folders", { path: at }).catch(() => null); // made, or there
    }
  }
}

// Sessions left unfinished (a reloaded page, another tab): offered to go on.
let resuming = null;

async function showUnfinished() {
  let sessions;
  try {
    ({ sessions } = await api("GET", "/api/v1/upload/sessions"));
  } catch (error) {
    return;
  }
  const busy = queue.sessionIds();
  for (const session of sessions) {
    if (busy.has(session.sessionId)) continue;
    const row = uploadList.unfinished(session, {
      onResume() {
        resuming = { session, row };
        $("resume-pick").click();
      },
      async onDiscard() {
        try {
          await api("DELETE", session.sessionUrl);
          row.item.remove();
          loadAccount();
        } catch (error) {
          row.problem.textContent = error.message;
        }
      },
    });
  }
}

$("resume-pick").addEventListener("change", (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file || !resuming) return;
  const { session, row } = resuming;
  resuming = null;
  if (file.name !== session.name || file.size !== session.size) {
    row.problem.textContent =
      `That is not the same file: choose “${session.name}” of ${sizeText(session.size)}.`;
    return;
  }
  queue.resume(session, file);
});

// -- events ---------------------------------------------------------------------------

function say(text) {
  $("status").textContent = text;
}

$("new-folder").addEventListener("click", newFolder);
$("pick").addEventListener("change", (event) => {
  // A copy first: clearing the input empties its FileList.
  upload([...event.target.files].map((file) => ({ file, folder: state.path })));
  event.target.value = "";
});
$("pick-folder").addEventListener("change", (event) => {
  upload(pickedFolder([...event.target.files], state.path));
  event.target.value = "";
});
$("prev-page").addEventListener("click", () => {
  state.pageIndex -= 1;
  load();
});
$("next-page").addEventListener("click", () => {
  state.pageIndex += 1;
  load();
});
$("sort").addEventListener("change", (event) => {
  const [sort, order] = event.target.value.split(" ");
  resort(sort, order);
});
for (const button of document.querySelectorAll("#listing th button[data-sort]")) {
  button.addEventListener("click", () => {
    const sort = button.dataset.sort;
    const order = state.sort === sort && state.order === "asc" ? "desc" : "asc";
    resort(sort, order);
  });
}
$("select-all").addEventListener("change", (event) => {
  for (const entry of state.entries) {
    if (event.target.checked) state.selected.set(entry.id, entry);
    else state.selected.delete(entry.id);
  }
  render();
});
$("clear-selection").addEventListener("click", () => {
  state.selected.clear();
  render();
});
$("move-selected").addEventListener("click", () => move([...state.selected.values()]));
$("delete-selected").addEventListener("click", () => remove([...state.selected.values()]));
$("download-selected").addEventListener("click", async () => {
  try {
    say(await downloadEntries([...state.selected.values()]));
  } catch (error) {
    say(error.message);
    if (error.status === 404) load();
  }
});

$("entries").addEventListener("change", (event) => {
  if (!event.target.classList.contains("pick-entry")) return;
  const entry = entryOf(event.target);
  if (!entry) return;
  if (event.target.checked) state.selected.set(entry.id, entry);
  else state.selected.delete(entry.id);
  showSelection();
});
$("entries").addEventListener("click", (event) => {
  const action = event.target.closest("button[data-action]");
  if (action) {
    const entry = entryOf(action);
    action.closest("details").open = false;
    if (action.dataset.action === "share") shareDialog.open(entry);
    else if (action.dataset.action === "rename") rename(entry);
    else if (action.dataset.action === "move") move([entry]);
    else if (action.dataset.action === "delete") remove([entry]);
  }
});

// Links to folders (rows and breadcrumbs) open in the page, keeping uploads going.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-path]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  go(link.dataset.path);
});
window.addEventListener("popstate", () => go(pathOfUrl(window.location.pathname), { push: false }));

rowDragging($("entries"), {
  dragged: (id) => (state.selected.has(id) ? [...state.selected.keys()] : [id]),
  async dropped(ids, folderId) {
    const known = (id) => state.selected.get(id) || state.entries.find((e) => e.id === id);
    const problem = await moveInto(ids.map(known).filter(Boolean), known(folderId));
    if (problem) say(problem);
  },
});

// Drag and drop: files dropped anywhere on the file manager go to the folder shown.
const area = $("files");
let depth = 0;
area.addEventListener("dragenter", (event) => {
  if (!event.dataTransfer || !event.dataTransfer.types.includes("Files")) return;
  depth += 1;
  area.classList.add("dragging");
});
area.addEventListener("dragleave", () => {
  depth = Math.max(0, depth - 1);
  if (!depth) area.classList.remove("dragging");
});
area.addEventListener("dragover", (event) => {
  if (event.dataTransfer && event.dataTransfer.types.includes("Files")) event.preventDefault();
});
area.addEventListener("drop", async (event) => {
  event.preventDefault();
  depth = 0;
  area.classList.remove("dragging");
  const base = state.path;
  // The entries are taken now: the drop's data is gone once this handler returns.
  const entries = [...event.dataTransfer.items]
    .filter((item) => item.kind === "file")
    .map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry())
    .filter(Boolean);
  if (!entries.length) {
    upload([...event.dataTransfer.files].map((file) => ({ file, folder: base })));
    return;
  }
  const { items, empty } = await dropped(entries, base);
  await makeFolders(empty);
  if (empty.length && !items.length) load();
  upload(items);
});
window.addEventListener("beforeunload", (event) => {
  if (queue.uploads.length) event.preventDefault();
});

window.history.replaceState({ path: state.path }, "", folderUrl(state.path));
load();
loadAccount();
showUnfinished();
offerGuestUploads($("claims"), {
  onClaimed() {
    load();
    loadAccount();
  },
});
