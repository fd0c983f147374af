// The guest upload page: files up to the guest limit go through resumable sessions
// without an account; each gets its download link. The server keeps the browser's
// claim token in the HttpOnly lockr_guest cookie; the files' ids are remembered here
// so that, once this browser has an account, the file manager offers to claim them.

import { sizeText } from "./format.js";
import { rememberGuestUpload } from "./claims.js";
import { UploadList } from "./uploadlist.js";
import { UploadQueue } from "./uploads.js";

const $ = (id) => document.getElementById(id);
const area = $("files");
const maxObjectSize = Number(area.dataset.maxSize);
$("guest-limit").textContent = sizeText(maxObjectSize);

const list = new UploadList($("uploads"), $("uploads-panel"));
const queue = new UploadQueue(list, {
  onFinished(upload, file) {
    if (upload.state !== "done" || !file) return;
    rememberGuestUpload(file);
    const link = document.createElement("a");
    link.className = "upload-link";
    link.href = file.pageUrl;
    link.textContent = file.pageUrl;
    link.setAttribute("aria-label", `Download page of ${file.name}`);
    upload.row.item.append(link);
  },
});

function upload(files) {
  queue.add(
    files.map((file) => ({ file, folder: null })),
    { maxObjectSize, free: Infinity },
  );
}

$("pick").addEventListener("change", (event) => {
  upload([...event.target.files]);
  event.target.value = "";
});
area.addEventListener("dragover", (event) => {
  if (event.dataTransfer && event.dataTransfer.types.includes("Files")) {
    event.preventDefault();
    area.classList.add("dragging");
  }
});
area.addEventListener("dragleave", () => area.classList.remove("dragging"));
area.addEventListener("drop", (event) => {
  event.preventDefault();
  area.classList.remove("dragging");
  upload([...event.dataTransfer.files]);
});
