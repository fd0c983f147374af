// The list of uploads: one row each, with a progress bar, what is sent, the speed and
// the time left, and Pause/Resume and Cancel; and the rows of uploads left unfinished
// before the page was loaded, each offering to go on (choosing the file again) or to
// give up.

import { durationText, sizeText } from "./format.js";

function button(text, className, label) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = `quiet ${className}`;
  element.textContent = text;
  element.setAttribute("aria-label", label);
  return element;
}

function where(folder) {
  return folder ? `to ${folder}` : "to the top folder";
}

export class UploadList {
  constructor(list, panel) {
    this.list = list;
    this.panel = panel;
  }

  row(upload) {
    const name = upload.file.name;
    const item = document.createElement("li");
    item.className = "upload";
    item.dataset.name = name;
    const title = document.createElement("span");
    title.className = "upload-name";
    title.textContent = name;
    const folder = document.createElement("span");
    folder.className = "upload-folder muted";
    folder.textContent = where(upload.folder);
    const bar = document.createElement("progress");
    bar.max = Math.max(upload.file.size, 1);
    bar.value = upload.sent;
    bar.setAttribute("aria-label", `Upload of ${name}`);
    const text = document.createElement("span");
    text.className = "upload-text muted";
    const toggle = button("Pause", "upload-pause", `Pause the upload of ${name}`);
    toggle.addEventListener("click", () =>
      upload.state === "paused" ? upload.resume() : upload.pause(),
    );
    const cancel = button("Cancel", "upload-cancel", `Cancel the upload of ${name}`);
    cancel.addEventListener("click", () => upload.cancel());
    const buttons = document.createElement("span");
    buttons.className = "upload-buttons";
    buttons.append(toggle, cancel);
    item.append(title, buttons, bar, folder, text);
    const earlier = this.list.querySelector(`li.unfinished[data-session="${upload.session?.sessionId}"]`);
    if (earlier) earlier.replaceWith(item);
    else this.list.prepend(item);
    this.panel.hidden = false;
    return { item, bar, text, toggle, cancel };
  }

  opened() {}

  update(upload) {
    const { item, bar, text, toggle, cancel } = upload.row;
    item.dataset.state = upload.state;
    const size = upload.file.size;
    bar.value = upload.state === "done" ? Math.max(size, 1) : upload.sent;
    let words;
    if (upload.state === "refused") words = `Not sent: ${upload.reason}`;
    else if (upload.state === "failed") words = `Failed: ${upload.reason}`;
    else if (upload.state === "cancelled") words = "Cancelled";
    else if (upload.state === "done") words = `Done, ${sizeText(size)}`;
    else if (upload.state === "queued") words = `Waiting, ${sizeText(size)}`;
    else if (upload.state === "paused") words = `Paused at ${sizeText(upload.sent)} of ${sizeText(size)}`;
    else {
      words = `${sizeText(upload.sent)} of ${sizeText(size)}`;
      const speed = upload.speed();
      if (speed) {
        words += ` · ${sizeText(Math.round(speed))}/s · ${durationText((size - upload.sent) / speed)} left`;
      }
      if (upload.reason) words += ` · ${upload.reason}`;
    }
    text.textContent = words;
    const paused = upload.state === "paused";
    toggle.textContent = paused ? "Resume" : "Pause";
    toggle.setAttribute("aria-label", `${paused ? "Resume" : "Pause"} the upload of ${upload.file.name}`);
    toggle.hidden = upload.ended;
    cancel.hidden = upload.ended;
  }

  /** A row for a session left unfinished earlier: ``onResume()`` and ``onDiscard()``
   *  are called when asked. */
  unfinished(session, { onResume, onDiscard }) {
    const item = document.createElement("li");
    item.className = "upload unfinished";
    item.dataset.name = session.name;
    item.dataset.session = session.sessionId;
    item.dataset.state = "unfinished";
    const title = document.createElement("span");
    title.className = "upload-name";
    title.textContent = session.name;
    const bar = document.createElement("progress");
    bar.max = Math.max(session.size, 1);
    bar.value = session.received;
    bar.setAttribute("aria-label", `Unfinished upload of ${session.name}`);
    const text = document.createElement("span");
    text.className = "upload-text muted";
    text.textContent =
      `Unfinished: ${sizeText(session.received)} of ${sizeText(session.size)} stored ` +
      `${where(session.path)}. Choose the same file to go on.`;
    const resume = button("Resume…", "upload-resume", `Resume the upload of ${session.name}`);
    resume.addEventListener("click", onResume);
    const discard = button("Discard", "upload-discard", `Discard the upload of ${session.name}`);
    discard.addEventListener("click", onDiscard);
    const buttons = document.createElement("span");
    buttons.className = "upload-buttons";
    buttons.append(resume, discard);
    const problem = document.createElement("span");
    problem.className = "error upload-problem";
    problem.setAttribute("role", "alert");
    item.append(title, buttons, bar, text, problem);
    this.list.append(item);
    this.panel.hidden = false;
    return { item, problem };
  }
}
