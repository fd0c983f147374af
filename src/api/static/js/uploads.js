// Uploads through the storage API's resumable sessions, written from its document:
// POST /api/v1/upload/session {name, size, type, path} gives an uploadUrl; the file
// is PUT to it in chunks (Content-Range: bytes START-END/TOTAL), each answered 308
// with Range: bytes=0-N (what is stored) until the last, answered 201 with the file.
// A dropped request is followed by a status query (Content-Range: bytes */TOTAL) and
// the upload goes on from where the server says it stopped. Cancel aborts the request
// and DELETEs the upload URL, which frees what was stored and reserved.

import { api, ApiError } from "./api.js";
import { durationText, sizeText } from "./format.js";

const CHUNK = 8 * 1024 * 1024;
const RETRIES = 5;
const AT_ONCE = 3;
const SPEED_WINDOW_MS = 4000;

class Cancelled extends Error {}

/** Why ``file`` cannot be uploaded under ``limits`` (null when it can): checked
 *  before any byte is sent. ``limits`` is {maxObjectSize, free}. */
export function refusal(file, limits) {
  if (file.size > limits.maxObjectSize) {
    return `too large: the limit is ${sizeText(limits.maxObjectSize)} per file`;
  }
  if (file.size > limits.free) {
    return `not enough room: ${sizeText(Math.max(0, limits.free))} of your quota is free`;
  }
  return null;
}

/** One file on its way: its state, what is sent, and its row in the list. */
export class Upload {
  constructor(file, folder, queue) {
    this.file = file;
    this.folder = folder;
    this.queue = queue;
    this.state = "queued";
    this.sent = 0;
    this.session = null;
    this.request = null;
    this.samples = [];
    this.row = queue.view.row(this);
  }

  get reservesLocally() {
    return this.state === "queued" || this.state === "starting";
  }

  async run() {
    try {
      this.state = "starting";
      this.show();
      this.session = await api("POST", "/api/v1/upload/session", {
        name: this.file.name,
        size: this.file.size,
        type: this.file.type || undefined,
        path: this.folder,
      });
      this.checkCancelled();
      this.state = "uploading";
      const done = await this.send();
      this.state = "done";
      this.sent = this.file.size;
      this.show();
      this.queue.finished(this, done);
    } catch (error) {
      if (error instanceof Cancelled || this.state === "cancelled") {
        this.state = "cancelled";
        if (this.session) await forget(this.session.uploadUrl);
      } else {
        this.state = "failed";
        this.reason = error.message || "the upload failed";
      }
      this.show();
      this.queue.finished(this, null);
    }
  }

  /** Send the bytes from where the server has them to the end; resolves to the file. */
  async send() {
    let offset = 0;
    let failures = 0;
    for (;;) {
      this.checkCancelled();
      const size = this.file.size;
      const end = Math.min(offset + CHUNK, size);
      let answer;
      try {
        answer = await this.put(offset, end);
      } catch (error) {
        if (error instanceof Cancelled) throw error;
        failures += 1;
        if (failures > RETRIES) throw error;
        await pause(500 * 2 ** failures);
        this.checkCancelled();
        offset = await this.stored();
        continue;
      }
      if (answer.status === 200 || answer.status === 201) return answer.body;
      if (answer.status === 308) {
        failures = 0;
        offset = storedFrom(answer.range);
        continue;
      }
      if (answer.status === 409 || answer.status >= 500) {
        failures += 1;
        if (failures > RETRIES) throw new Error(answer.message);
        await pause(500 * 2 ** failures);
        offset = await this.stored();
        continue;
      }
      throw new ApiError(answer.status, "error", answer.message);
    }
  }

  /** Ask the server how many bytes it has (a status query). */
  async stored() {
    const answer = await this.put(null, null);
    if (answer.status === 308) return storedFrom(answer.range);
    if (answer.status === 200 || answer.status === 201) return this.file.size;
    throw new ApiError(answer.status, "error", answer.message);
  }

  /** PUT bytes [start, end) of the file, or a status query (start null). */
  put(start, end) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      this.request = request;
      request.open("PUT", this.session.uploadUrl);
      const total = this.file.size;
      let body = null;
      if (start === null) {
        request.setRequestHeader("Content-Range", `bytes */${total}`);
      } else if (total > 0) {
        request.setRequestHeader("Content-Range", `bytes ${start}-${end - 1}/${total}`);
        body = this.file.slice(start, end);
        request.upload.onprogress = (event) => this.progress(start + event.loaded);
      }
      request.onload = () => {
        let parsed = {};
        try {
          parsed = JSON.parse(request.responseText || "{}");
        } catch (error) {
          parsed = {};
        }
        resolve({
          status: request.status,
          range: request.getResponseHeader("Range"),
          body: parsed,
          message: (parsed.error && parsed.error.message) || `the server answered ${request.status}`,
        });
      };
      request.onerror = () => reject(new Error("the connection dropped"));
      request.onabort = () => reject(new Cancelled());
      request.send(body);
    });
  }

  progress(sent) {
    this.sent = Math.min(sent, this.file.size);
    const now = performance.now();
    this.samples.push([now, this.sent]);
    while (this.samples.length > 2 && now - this.samples[0][0] > SPEED_WINDOW_MS) {
      this.samples.shift();
    }
    this.show();
  }

  /** Bytes a second over the last few seconds (null until there is enough to say). */
  speed() {
    if (this.samples.length < 2) return null;
    const [t0, s0] = this.samples[0];
    const [t1, s1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((s1 - s0) * 1000) / (t1 - t0) : null;
  }

  checkCancelled() {
    if (this.state === "cancelled") throw new Cancelled();
  }

  /** Stop: the request in flight is aborted, and run() then forgets the session. */
  cancel() {
    if (["done", "failed", "cancelled", "refused"].includes(this.state)) return;
    const wasQueued = this.state === "queued";
    this.state = "cancelled";
    if (this.request) this.request.abort();
    this.show();
    if (wasQueued) this.queue.finished(this, null);
  }

  show() {
    this.queue.view.update(this);
  }
}

/** DELETE the upload URL, trying again while the server still finishes the request
 *  that was just aborted (409). */
async function forget(uploadUrl) {
  for (let attempt = 0; attempt < 6; attempt++) {
    const response = await fetch(uploadUrl, { method: "DELETE" }).catch(() => null);
    if (response && response.status !== 409 && response.status < 500) return;
    await pause(300 * 2 ** attempt);
  }
}

function storedFrom(range) {
  const match = /^bytes=0-(\d+)$/.exec(range || "");
  return match ? Number(match[1]) + 1 : 0;
}

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Uploads waiting and running (a few at once), with the list that shows them. */
export class UploadQueue {
  constructor(view, { onFinished }) {
    this.view = view;
    this.onFinished = onFinished;
    this.uploads = [];
    this.running = 0;
  }

  /** Bytes of uploads that have no session yet (the server does not hold them). */
  pendingBytes() {
    return this.uploads.filter((u) => u.reservesLocally).reduce((sum, u) => sum + u.file.size, 0);
  }

  /** Queue ``files`` for ``folder``; those ``limits`` refuse are shown refused and
   *  send nothing. */
  add(files, folder, limits) {
    let free = limits.free - this.pendingBytes();
    for (const file of files) {
      const upload = new Upload(file, folder, this);
      const why = refusal(file, { maxObjectSize: limits.maxObjectSize, free });
      if (why) {
        upload.state = "refused";
        upload.reason = why;
        upload.show();
        continue;
      }
      free -= file.size;
      this.uploads.push(upload);
      upload.show();
    }
    this.next();
  }

  next() {
    while (this.running < AT_ONCE) {
      const upload = this.uploads.find((u) => u.state === "queued");
      if (!upload) return;
      this.running += 1;
      upload.started = true;
      upload.run();
    }
  }

  finished(upload, file) {
    if (upload.started && !upload.counted) {
      upload.counted = true;
      this.running -= 1;
    }
    this.uploads = this.uploads.filter((u) => u !== upload);
    this.onFinished(upload, file);
    this.next();
  }
}

/** The list of uploads: one row each, with a progress bar, what is sent, the speed,
 *  the time left, and a Cancel button. */
export class UploadList {
  constructor(list, panel) {
    this.list = list;
    this.panel = panel;
  }

  row(upload) {
    const item = document.createElement("li");
    item.className = "upload";
    item.dataset.name = upload.file.name;
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = upload.file.name;
    const bar = document.createElement("progress");
    bar.max = Math.max(upload.file.size, 1);
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload of ${upload.file.name}`);
    const text = document.createElement("span");
    text.className = "upload-text muted";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "quiet upload-cancel";
    cancel.textContent = "Cancel";
    cancel.setAttribute("aria-label", `Cancel the upload of ${upload.file.name}`);
    cancel.addEventListener("click", () => upload.cancel());
    item.append(name, bar, text, cancel);
    this.list.prepend(item);
    this.panel.hidden = false;
    return { item, bar, text, cancel };
  }

  update(upload) {
    const { item, bar, text, cancel } = upload.row;
    item.dataset.state = upload.state;
    const size = upload.file.size;
    bar.value = upload.state === "done" ? Math.max(size, 1) : upload.sent;
    let words;
    if (upload.state === "refused") words = `Not sent: ${upload.reason}`;
    else if (upload.state === "failed") words = `Failed: ${upload.reason}`;
    else if (upload.state === "cancelled") words = "Cancelled";
    else if (upload.state === "done") words = `Done, ${sizeText(size)}`;
    else if (upload.state === "queued") words = `Waiting, ${sizeText(size)}`;
    else {
      words = `${sizeText(upload.sent)} of ${sizeText(size)}`;
      const speed = upload.speed();
      if (speed) {
        words += ` · ${sizeText(Math.round(speed))}/s · ${durationText((size - upload.sent) / speed)} left`;
      }
    }
    text.textContent = words;
    cancel.hidden = ["done", "failed", "cancelled", "refused"].includes(upload.state);
  }
}
