// A folder's page of entries as table rows: a checkbox, the name (a folder opens in
// the app, a file downloads), size, modified time, type, key status and an actions
// menu (rename, move, delete).

import { sizeText, timeText, typeText } from "./format.js";

/** The app's address of the folder at ``path`` ("" is the top). */
export function folderUrl(path) {
  return "/files" + (path ? "/" + path.split("/").map(encodeURIComponent).join("/") : "");
}

/** The folder path an app address names. */
export function pathOfUrl(pathname) {
  const rest = pathname.replace(/^\/files\/?/, "");
  return rest
    .split("/")
    .filter(Boolean)
    .map((part) => decodeURIComponent(part))
    .join("/");
}

function cell(className, ...children) {
  const td = document.createElement("td");
  td.className = className;
  td.append(...children);
  return td;
}

function menuButton(action, label, name) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.action = action;
  button.textContent = label;
  button.setAttribute("aria-label", `${label.replace("…", "")} ${name}`);
  return button;
}

/** The row of ``entry``; ``selected`` says whether its box is ticked. */
export function entryRow(entry, selected) {
  const row = document.createElement("tr");
  row.dataset.id = entry.id;
  row.dataset.kind = entry.kind;
  row.dataset.name = entry.name;
  row.draggable = true; // onto a folder's row, to move it (rowdrag.js)

  const box = document.createElement("input");
  box.type = "checkbox";
  box.className = "pick-entry";
  box.checked = selected;
  box.setAttribute("aria-label", `Select ${entry.name}`);

  const link = document.createElement("a");
  link.className = `entry-link icon-${entry.kind}`;
  link.textContent = entry.name;
  if (entry.kind === "folder") {
    link.href = folderUrl(entry.path);
    link.dataset.path = entry.path;
  } else {
    link.href = entry.downloadUrl;
    link.setAttribute("download", entry.name);
  }
  const when = document.createElement("time");
  when.dateTime = entry.modifiedAt;
  when.textContent = timeText(entry.modifiedAt);
  const meta = document.createElement("span");
  meta.className = "meta muted";
  const size = entry.kind === "file" ? sizeText(entry.size) : "Folder";
  meta.textContent = `${size} · ${timeText(entry.modifiedAt)}${entry.keyProtected ? " · key set" : ""}`;

  const menu = document.createElement("details");
  menu.className = "menu";
  const summary = document.createElement("summary");
  summary.setAttribute("aria-label", `Actions for ${entry.name}`);
  summary.textContent = "⋯";
  const items = document.createElement("div");
  items.className = "menu-items";
  if (entry.kind === "file") items.append(menuButton("share", "Share…", entry.name));
  items.append(
    menuButton("rename", "Rename…", entry.name),
    menuButton("move", "Move…", entry.name),
    menuButton("delete", "Delete…", entry.name),
  );
  menu.append(summary, items);

  const key = entry.kind === "file" && entry.keyProtected;
  const keyText = document.createElement("span");
  keyText.className = key ? "key-set" : "muted";
  keyText.textContent = key ? "Key set" : entry.kind === "file" ? "None" : "";

  row.append(
    cell("pick", box),
    cell("name", link, meta),
    cell("size", entry.kind === "file" ? sizeText(entry.size) : "—"),
    cell("modified", when),
    cell("type", entry.kind === "file" ? typeText(entry.type) : "Folder"),
    cell("key", keyText),
    cell("more", menu),
  );
  return row;
}

/** Breadcrumbs of ``path``: each folder above it a link, the folder itself current. */
export function crumbs(list, path, { onPick, rootName = "Files" } = {}) {
  list.replaceChildren();
  const parts = path ? path.split("/") : [];
  const trail = [[rootName, ""]];
  parts.forEach((part, index) => trail.push([part, parts.slice(0, index + 1).join("/")]));
  trail.forEach(([name, target], index) => {
    const item = document.createElement("li");
    if (index === trail.length - 1) {
      const here = document.createElement("span");
      here.setAttribute("aria-current", "location");
      here.textContent = name;
      item.append(here);
    } else if (onPick) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = name;
      button.addEventListener("click", () => onPick(target));
      item.append(button);
    } else {
      const link = document.createElement("a");
      link.href = folderUrl(target);
      link.dataset.path = target;
      link.textContent = name;
      item.append(link);
    }
    list.append(item);
  });
}
