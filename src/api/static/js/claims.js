// Files uploaded in this browser without an account, and claiming them once it has
// one: their ids are remembered here (the claim token itself stays in the server's
// HttpOnly lockr_guest cookie, which POST /api/v1/files/register reads).

import { api } from "./api.js";

const KEY = "lockr-guest-uploads";

function remembered() {
  try {
    const list = JSON.parse(window.localStorage.getItem(KEY) || "[]");
    return Array.isArray(list) ? list : [];
  } catch (error) {
    return [];
  }
}

function keep(list) {
  if (list.length) window.localStorage.setItem(KEY, JSON.stringify(list));
  else window.localStorage.removeItem(KEY);
}

export function rememberGuestUpload(file) {
  keep([...remembered().filter((f) => f.id !== file.id), { id: file.id, name: file.name }]);
}

/** Offer the files uploaded here as a guest to the signed-in account, in ``box``;
 *  ``onClaimed()`` is called once some joined the account. */
export function offerGuestUploads(box, { onClaimed }) {
  const files = remembered();
  if (!files.length) return;
  const text = document.createElement("p");
  text.id = "claim-text";
  const names = files.map((f) => `“${f.name}”`).join(", ");
  text.textContent =
    `${files.length === 1 ? "A file was" : `${files.length} files were`} uploaded in this ` +
    `browser without an account: ${names}.`;
  const claim = document.createElement("button");
  claim.type = "button";
  claim.id = "claim";
  claim.textContent = "Add to my files";
  const forget = document.createElement("button");
  forget.type = "button";
  forget.className = "quiet";
  forget.textContent = "Forget them";
  const problem = document.createElement("p");
  problem.className = "error";
  problem.setAttribute("role", "alert");
  forget.addEventListener("click", () => {
    keep([]);
    box.hidden = true;
  });
  claim.addEventListener("click", async () => {
    const left = [];
    const problems = [];
    for (const file of remembered()) {
      try {
        await api("POST", "/api/v1/files/register", { id: file.id });
      } catch (error) {
        if (error.status === 404) continue; // deleted since: nothing to claim
        left.push(file);
        problems.push(`${file.name}: ${error.message}`);
      }
    }
    keep(left);
    problem.textContent = problems.join("\n");
    if (!left.length) box.hidden = true;
    onClaimed();
  });
  box.replaceChildren(text, claim, forget, problem);
  box.hidden = false;
}
