// The Share dialog of a file: its download page's link (copied), its download key
// (the phrase hashed here into keyHash, set or removed), and its share links: listed
// with their downloads, made with an expiry, a download limit and a password (the
// link shown once), revoked.

import { api } from "./api.js";
import { dayText, timeText } from "./format.js";
import { sha256Hex } from "./sha256.js";

const $ = (id) => document.getElementById(id);

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
    done.textContent = "Copied.";
  } catch (error) {
    done.textContent = "Select the link and copy it.";
  }
}

export class ShareDialog {
  constructor(dialog, { onChanged }) {
    this.dialog = dialog;
    this.onChanged = onChanged;
    this.file = null;
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    $("copy-page-url").addEventListener("click", () => copy($("page-url").value, $("page-copied")));
    $("copy-share-url").addEventListener("click", () =>
      copy($("share-url").textContent, $("page-copied")),
    );
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.setKey($("key-phrase").value);
    });
    $("clear-key").addEventListener("click", () => this.setKey(null));
    $("new-share").addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
  }

  open(file) {
    this.file = file;
    $("share-title").textContent = `Share “${file.name}”`;
    $("page-url").value = file.pageUrl;
    $("page-copied").textContent = "";
    $("share-error").textContent = "";
    $("share-once").hidden = true;
    $("new-share").reset();
    $("key-form").reset();
    this.showKey();
    this.dialog.showModal();
    this.showShares();
  }

  showKey() {
    const keyed = this.file.keyProtected;
    $("page-link-note").textContent = keyed
      ? "Anyone with this link and the key phrase can download the file."
      : "Anyone with this link can download the file.";
    $("key-state").textContent = keyed
      ? "A key is set: the download page asks for the phrase."
      : "No key is set.";
    $("clear-key").hidden = !keyed;
  }

  async setKey(phrase) {
    $("share-error").textContent = "";
    try {
      const body = phrase === null ? { key: null } : { keyHash: await sha256Hex(phrase) };
      this.file = { ...this.file, ...(await api("POST", `/api/v1/files/${this.file.id}/key`, body)) };
      $("key-form").reset();
      this.showKey();
      this.onChanged();
    } catch (error) {
      $("share-error").textContent = error.message;
    }
  }

  async showShares() {
    let shares;
    try {
      ({ shares } = await api("GET", `/api/v1/files/${this.file.id}/shares`));
    } catch (error) {
      $("share-error").textContent = error.message;
      return;
    }
    const rows = shares.map((share) => {
      const row = document.createElement("li");
      row.dataset.share = share.id;
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = `${share.prefix}…${share.passwordProtected ? " · password" : ""}`;
      const when = document.createElement("span");
      when.className = "when";
      const limit = share.maxDownloads === null ? "" : ` of ${share.maxDownloads}`;
      const until = share.expiresAt ? `, until ${timeText(share.expiresAt)}` : "";
      const state = { open: "", expired: " · expired", used_up: " · used up" }[share.state];
      when.textContent =
        `made ${dayText(share.createdAt)}, ${share.downloads}${limit} downloads${until}${state}`;
      const revoke = document.createElement("button");
      revoke.type = "button";
      revoke.className = "quiet";
      revoke.textContent = "Revoke";
      revoke.setAttribute("aria-label", `Revoke the share link ${share.prefix}`);
      revoke.addEventListener("click", async () => {
        await api("DELETE", `/api/v1/shares/${share.id}`).catch((error) => {
          $("share-error").textContent = error.message;
        });
        this.showShares();
      });
      row.append(what, when, revoke);
      return row;
    });
    if (!rows.length) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No share links yet.";
      rows.push(none);
    }
    $("share-list").replaceChildren(...rows);
  }

  async create() {
    $("share-error").textContent = "";
    const body = {};
    const expires = $("share-expires").value;
    const limit = $("share-limit").value;
    const password = $("share-password").value;
    if (expires) body.expiresAt = new Date(expires).toISOString();
    if (limit) body.maxDownloads = Number(limit);
    if (password) body.password = password;
    try {
      const made = await api("POST", `/api/v1/files/${this.file.id}/shares`, body);
      $("share-url").textContent = made.url;
      $("share-once").hidden = false;
      $("new-share").reset();
      this.showShares();
    } catch (error) {
      $("share-error").textContent = error.message;
    }
  }
}
