// The dialog that chooses where entries move: it browses folders only (the API's
// kind=folder listing), from the folder shown, and answers the chosen folder.

import { api, query } from "./api.js";
import { crumbs } from "./listing.js";

const PAGE = 200;

export class MoveDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.form = dialog.querySelector("form");
    this.list = dialog.querySelector("#move-folders");
    this.trail = dialog.querySelector("#move-crumbs");
    this.what = dialog.querySelector("#move-what");
    this.more = dialog.querySelector("#move-more");
    this.error = dialog.querySelector("#move-error");
    this.target = null;
    this.cursor = null;
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  }

  /** Show the dialog for ``entries``, starting in ``path``; ``move(folder)`` is
   *  called with the chosen folder and resolves to an error text or null. */
  open(entries, path, move) {
    this.moving = new Set(entries.filter((e) => e.kind === "folder").map((e) => e.path));
    const names = entries.length === 1 ? `“${entries[0].name}”` : `${entries.length} items`;
    this.what.textContent = `Choose the folder to move ${names} into.`;
    this.error.textContent = "";
    this.form.onsubmit = async (event) => {
      event.preventDefault();
      if (!this.target) return;
      this.error.textContent = "";
      const problem = await move(this.target);
      if (problem) this.error.textContent = problem;
      else this.dialog.close();
    };
    this.dialog.showModal();
    this.show(path);
  }

  async show(path, cursor = null) {
    this.error.textContent = "";
    let page;
    try {
      page = await api(
        "GET",
        "/api/v1/entries?" + query({ path, kind: "folder", limit: PAGE, cursor }),
      );
    } catch (error) {
      if (path) return this.show("");
      this.error.textContent = error.message;
      return;
    }
    this.target = page.folder;
    if (!cursor) {
      this.list.replaceChildren();
      crumbs(this.trail, page.folder.path, { onPick: (target) => this.show(target) });
    }
    for (const folder of page.entries) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link icon-folder";
      button.textContent = folder.name;
      // A folder cannot go into itself: its own subtree is not offered.
      button.disabled = [...this.moving].some(
        (moved) => folder.path === moved || folder.path.startsWith(moved + "/"),
      );
      button.addEventListener("click", () => this.show(folder.path));
      item.append(button);
      this.list.append(item);
    }
    this.more.hidden = !page.nextCursor;
    this.more.replaceChildren();
    if (page.nextCursor) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quiet";
      button.textContent = "More folders";
      button.addEventListener("click", () => this.show(path, page.nextCursor));
      this.more.append(button);
    }
    if (!this.list.children.length) {
      const item = document.createElement("li");
      item.className = "muted";
      item.textContent = "No folders here.";
      this.list.append(item);
    }
  }
}
