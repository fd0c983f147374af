// Settings, as a client of the JSON API: the account's usage, the password, login
// tokens (create, revoke) and the links API key (create, rotate, revoke: shown once).

import { api } from "./api.js";
import { dayText, sizeText, timeText } from "./format.js";

const $ = (id) => document.getElementById(id);

function button(text, id, className = "quiet") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.className = className;
  if (id) element.id = id;
  return element;
}

/** A credential's row: what it is, when it was made and last used, then ``tail``. */
function credentialRow(what, credential, ...tail) {
  const row = document.createElement("li");
  const name = document.createElement("span");
  name.className = "what";
  name.textContent = what;
  const when = document.createElement("span");
  when.className = "when";
  const used = credential.lastUsedAt ? `last used ${dayText(credential.lastUsedAt)}` : "never used";
  when.textContent = `made ${dayText(credential.createdAt)}, ${used}`;
  row.append(name, when, ...tail);
  return row;
}

/** A Revoke button (``label`` for screen readers): DELETE ``path``, then ``refresh``;
 *  a refusal is said in the element ``errorId``. */
function revokeButton(label, path, errorId, refresh) {
  const revoke = button("Revoke");
  revoke.setAttribute("aria-label", label);
  revoke.addEventListener("click", async () => {
    await api("DELETE", path).catch((error) => {
      $(errorId).textContent = error.message;
    });
    refresh();
  });
  return revoke;
}

/** The form ``formId`` makes a credential: POST its name (the field ``nameId``) to
 *  ``path``, ``show`` what is shown once, then ``refresh``; a refusal is said in the
 *  element ``errorId``. */
function makesCredentials(formId, nameId, path, errorId, show, refresh) {
  $(formId).addEventListener("submit", async (event) => {
    event.preventDefault();
    $(errorId).textContent = "";
    try {
      show(await api("POST", path, { name: $(nameId).value.trim() }));
      event.target.reset();
      refresh();
    } catch (error) {
      $(errorId).textContent = error.message;
    }
  });
}

async function showUsage() {
  const { account } = await api("GET", "/api/v1/account");
  $("usage").textContent =
    `${sizeText(account.usedBytes)} of ${sizeText(account.quotaBytes)} used · ` +
    `files up to ${sizeText(account.maxObjectSize)} · region ${account.defaultRegion}`;
}

// -- password -------------------------------------------------------------------------

$("password").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("password-error").textContent = "";
  $("password-done").textContent = "";
  try {
    const { revokedTokens } = await api("POST", "/api/v1/account/password", {
      currentPassword: $("pw-current").value,
      newPassword: $("pw-new").value,
      revokeTokens: $("pw-revoke").checked,
    });
    event.target.reset();
    $("password-done").textContent =
      "Password changed." + (revokedTokens ? ` ${revokedTokens} other tokens were revoked.` : "");
    showTokens();
  } catch (error) {
    $("password-error").textContent = error.message;
  }
});

// -- login tokens ---------------------------------------------------------------------

async function showTokens() {
  const { tokens } = await api("GET", "/api/v1/tokens");
  const rows = tokens.map((token) => {
    let tail;
    if (token.current) {
      tail = document.createElement("span");
      tail.className = "muted";
      tail.textContent = "this session";
    } else {
      const label = `Revoke the token ${token.name || token.prefix}`;
      tail = revokeButton(label, `/api/v1/tokens/${token.id}`, "tokens-error", showTokens);
    }
    return credentialRow(`${token.name || "unnamed"} (${token.prefix}…)`, token, tail);
  });
  $("tokens").replaceChildren(...rows);
}

makesCredentials(
  "new-token",
  "token-name",
  "/api/v1/tokens",
  "tokens-error",
  (made) => {
    $("token-value").textContent = made.token;
    $("token-once").hidden = false;
  },
  showTokens,
);

// -- the links API key ----------------------------------------------------------------

function fact(term, text, id) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = text;
  if (id) dd.id = id;
  return [dt, dd];
}

async function keyAction(method, path) {
  $("key-error").textContent = "";
  try {
    const made = await api(method, path);
    if (made.key) {
      $("new-key").textContent = made.key;
      $("key-once").hidden = false;
      $("copied").hidden = true;
    } else {
      $("key-once").hidden = true;
    }
  } catch (error) {
    $("key-error").textContent = error.message;
  }
  showKey();
}

async function showKey() {
  const box = $("key-box");
  let state;
  try {
    state = await api("GET", "/api/v1/api-key");
  } catch (error) {
    $("key-error").textContent = error.message;
    return;
  }
  const { apiKey, plan, quota } = state;
  const resets = new Date(quota.resetsAt * 1000).toISOString().slice(0, 10);
  $("quota").textContent =
    `${quota.used} of ${quota.limit} API-created links used this month; resets ${resets}.`;
  if (plan !== "pro") {
    const note = document.createElement("p");
    note.textContent = `API keys are available on the pro plan. This account is on the ${plan} plan.`;
    box.replaceChildren(note);
    return;
  }
  if (!apiKey) {
    const note = document.createElement("p");
    note.textContent = "No active API key.";
    const create = button("Create API key", "create-key", "");
    create.addEventListener("click", () => keyAction("POST", "/api/v1/api-key"));
    box.replaceChildren(note, create);
    return;
  }
  const facts = document.createElement("dl");
  facts.className = "facts";
  facts.append(
    ...fact("Key", `${apiKey.prefix}…`, "key-prefix"),
    ...fact("Created", timeText(apiKey.createdAt)),
    ...fact("Last used", apiKey.lastUsedAt ? timeText(apiKey.lastUsedAt) : "never"),
  );
  const rotate = button("Rotate key", "rotate-key", "");
  rotate.addEventListener("click", () => keyAction("POST", "/api/v1/api-key/rotate"));
  const revoke = button("Revoke key", "revoke-key");
  revoke.addEventListener("click", () => keyAction("DELETE", "/api/v1/api-key"));
  const hint = document.createElement("p");
  hint.className = "muted";
  hint.textContent = "Rotating disables the previous key immediately.";
  box.replaceChildren(facts, rotate, revoke, hint);
}

$("copy-key").addEventListener("click", async () => {
  await navigator.clipboard.writeText($("new-key").textContent);
  $("copied").hidden = false;
});

// -- S3 access keys -------------------------------------------------------------------

async function showS3Keys() {
  let keys;
  try {
    ({ s3Keys: keys } = await api("GET", "/api/v1/s3-keys"));
  } catch (error) {
    $("s3-error").textContent = error.message;
    return;
  }
  const rows = keys.map((key) => {
    const label = `Revoke the S3 key ${key.accessKeyId}`;
    const revoke = revokeButton(label, `/api/v1/s3-keys/${key.id}`, "s3-error", showS3Keys);
    return credentialRow(`${key.name || "unnamed"} (${key.accessKeyId})`, key, revoke);
  });
  $("s3-keys").replaceChildren(...rows);
}

makesCredentials(
  "new-s3-key",
  "s3-key-name",
  "/api/v1/s3-keys",
  "s3-error",
  (made) => {
    $("s3-once-text").textContent =
      `access_key_id = ${made.accessKeyId}\nsecret_access_key = ${made.secretAccessKey}`;
    $("s3-once").hidden = false;
  },
  showS3Keys,
);

// -- rclone -----------------------------------------------------------------------------

async function rcloneRemote(kind) {
  $("rclone-error").textContent = "";
  $("rclone-copied").textContent = "";
  try {
    const made = await api("POST", "/api/v1/rclone-config", { kind });
    $("rclone-config").value = made.config;
    $("rclone-command").value = made.command;
    $("rclone-once").hidden = false;
    showTokens();
    showS3Keys();
  } catch (error) {
    $("rclone-error").textContent = error.message;
  }
}

async function copyFrom(id) {
  try {
    await navigator.clipboard.writeText($(id).value);
    $("rclone-copied").textContent = "Copied.";
  } catch (error) {
    $("rclone-copied").textContent = "Select the text and copy it.";
  }
}

$("rclone-webdav").addEventListener("click", () => rcloneRemote("webdav"));
$("rclone-s3").addEventListener("click", () => rcloneRemote("s3"));
$("copy-rclone-config").addEventListener("click", () => copyFrom("rclone-config"));
$("copy-rclone-command").addEventListener("click", () => copyFrom("rclone-command"));

showUsage();
showTokens();
showS3Keys();
showKey();
