// The download page of a key-protected file: the phrase is hashed here, checked with
// HEAD, and the download starts with ?keyHash= (the storage API's way).
import { sha256Hex } from "./sha256.js";

const form = document.getElementById("key-form");
const downloadPath = form.dataset.download;
const error = document.getElementById("key-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const hash = await sha256Hex(document.getElementById("key").value);
  const check = await fetch(downloadPath, { method: "HEAD", headers: { "X-Key-Hash": hash } });
  if (check.status === 403) { error.textContent = "That key is not right."; return; }
  if (check.status === 429) { error.textContent = "Too many wrong keys; wait a while and try again."; return; }
  if (!check.ok) { error.textContent = "The file cannot be downloaded right now."; return; }
  window.location.assign(downloadPath + "?keyHash=" + hash);
});
