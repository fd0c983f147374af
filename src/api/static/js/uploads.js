// Uploads through the storage API's resumable sessions, written from its document:
// POST /api/v1/upload/session {name, size, type, path} gives an uploadUrl; the file
// is PUT to it in chunks (Content-Range: bytes START-END/TOTAL), each answered 308
// with Range: bytes=0-N (what is stored) until the last, answered 201 with the file.
// After a dropped request, or on resuming, a status query (Content-Range:
// bytes */TOTAL) says where the server stopped, and the upload goes on from there.
// Pause aborts the request in flight (what arrived is kept); Cancel aborts it and
// DELETEs the upload URL, which frees what was stored and reserved. A session opened
// before the page was reloaded is resumed through its sessionUrl, which the account's
// own session authorizes (docs/webapp.md).

import { api, ApiError, sessionHeaders } from "./api.js";
import { sizeText } from "./format.js";

const CHUNK = 8 * 1024 * 1024;
const RETRIES = 6;
const AT_ONCE = 3;
const SPEED_WINDOW_MS = 4000;
const ENDED = new Set(["done", "failed", "cancelled", "refused"]);

class Cancelled extends Error {}
class Paused extends Error {}

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

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function storedFrom(range) {
  const match = /^bytes=0-(\d+)$/.exec(range || "");
  return match ? Number(match[1]) + 1 : 0;
}

/** One file on its way: its state, what is sent, and its row in the list. ``session``
 *  is given for an upload that goes on with a session opened before. */
export class Upload {
  constructor(file, folder, queue, session = null) {
    this.file = file;
    this.folder = folder;
    this.queue = queue;
    this.session = session;
    this.state = "queued";
    this.sent = session ? session.received : 0;
    this.request = null;
    this.samples = [];
    this.wake = null;
    this.row = queue.view.row(this);
  }

  get reservesLocally() {
    return !this.session && (this.state === "queued" || this.state === "starting");
  }

  get ended() {
    return ENDED.has(this.state);
  }

  /** Where the bytes go: the upload URL (its own authority), or for a session found
   *  after a reload, its sessionUrl, which this account's session authorizes. */
  get target() {
    return this.session.uploadUrl || this.session.sessionUrl;
  }

  get ownerHeaders() {
    return this.session.uploadUrl ? {} : sessionHeaders("PUT");
  }

  async run() {
    try {
      if (!this.session) {
        this.state = "starting";
        this.show();
        this.session = await api("POST", "/api/v1/upload/session", {
          name: this.file.name,
          size: this.file.size,
          type: this.file.type || undefined,
          path: this.folder === null ? undefined : this.folder, // guests: uploads/
        });
        this.queue.opened(this);
      }
      this.checkCancelled();
      if (this.state !== "paused") this.state = "uploading";
      this.show();
      const done = await this.send();
      this.state = "done";
      this.sent = this.file.size;
      this.show();
      this.queue.finished(this, done);
    } catch (error) {
      if (error instanceof Cancelled || this.state === "cancelled") {
        this.state = "cancelled";
        this.show();
        if (this.session) await this.forget();
      } else {
        this.state = "failed";
        this.reason = error.message || "the upload failed";
        this.show();
      }
      this.queue.finished(this, null);
    }
  }

  /** Send what the server lacks, to the end; resolves to the file. The offset is
   *  asked for (a status query) first after a resume, a pause or a failure. */
  async send() {
    let offset = this.session.uploadUrl && this.sent === 0 ? 0 : null;
    let failures = 0;
    for (;;) {
      await this.whilePaused();
      let answer;
      try {
        answer =
          offset === null
            ? await this.put(null, null)
            : await this.put(offset, Math.min(offset + CHUNK, this.file.size));
      } catch (error) {
        if (error instanceof Paused) {
          offset = null;
          continue;
        }
        if (error instanceof Cancelled) throw error;
        failures += 1;
        if (failures > RETRIES) throw error;
        this.say(`connection lost; trying again (${failures} of ${RETRIES})`);
        await pause(400 * 2 ** failures);
        offset = null;
        continue;
      }
      if (answer.status === 200 || answer.status === 201) return answer.body;
      if (answer.status === 308) {
        if (offset !== null) failures = 0;
        offset = storedFrom(answer.range);
        this.progress(offset);
        continue;
      }
      if (answer.status === 409 || answer.status === 429 || answer.status >= 500) {
        failures += 1; // another request still holds the session, or the server is busy
        if (failures > RETRIES) throw new Error(answer.message);
        await pause(400 * 2 ** failures);
        offset = null;
        continue;
      }
      throw new ApiError(answer.status, "error", answer.message);
    }
  }

  /** PUT bytes [start, end) of the file, or a status query (start null). */
  put(start, end) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      this.request = request;
      request.open("PUT", this.target);
      for (const [name, value] of Object.entries(this.ownerHeaders)) {
        request.setRequestHeader(name, value);
      }
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
      request.onabort = () => reject(this.state === "paused" ? new Paused() : new Cancelled());
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
    this.reason = "";
    this.show();
  }

  /** Bytes a second over the last few seconds (null until there is enough to say). */
  speed() {
    if (this.samples.length < 2) return null;
    const [t0, s0] = this.samples[0];
    const [t1, s1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((s1 - s0) * 1000) / (t1 - t0) : null;
  }

  say(text) {
    this.reason = text;
    this.show();
  }

  checkCancelled() {
    if (this.state === "cancelled") throw new Cancelled();
  }

  async whilePaused() {
    while (this.state === "paused") {
      await new Promise((resolve) => {
        this.wake = resolve;
      });
    }
    this.checkCancelled();
  }

  /** Stop sending for now: the request in flight is aborted (the server keeps what
   *  arrived), and nothing more is sent until resume(). */
  pause() {
    if (this.ended || this.state === "paused") return;
    this.state = "paused";
    this.samples = [];
    if (this.request) this.request.abort();
    this.show();
  }

  resume() {
    if (this.state !== "paused") return;
    this.state = this.session ? "uploading" : "queued";
    this.show();
    if (this.wake) this.wake();
    if (!this.started) this.queue.next();
  }

  /** Stop for good: the request in flight is aborted, and run() then gives the
   *  session up (its bytes and reserved quota are freed). */
  cancel() {
    if (this.ended) return;
    const running = this.started;
    this.state = "cancelled";
    if (this.request) this.request.abort();
    if (this.wake) this.wake();
    this.show();
    if (!running) {
      if (this.session) this.forget();
      this.queue.finished(this, null);
    }
  }

  /** DELETE the session, trying again while the server still finishes the request
   *  that was just aborted (409). */
  async forget() {
    const headers = this.session.uploadUrl ? {} : sessionHeaders("DELETE");
    for (let attempt = 0; attempt < 6; attempt++) {
      const response = await fetch(this.target, { method: "DELETE", headers }).catch(() => null);
      if (response && response.status !== 409 && response.status < 500) return;
      await pause(300 * 2 ** attempt);
    }
  }

  show() {
    this.queue.view.update(this);
  }
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

  /** The session ids this page is sending to. */
  sessionIds() {
    return new Set(this.uploads.filter((u) => u.session).map((u) => u.session.sessionId));
  }

  /** Queue ``items`` ({file, folder}); those ``limits`` refuse are shown refused and
   *  send nothing. */
  add(items, limits) {
    let free = limits.free - this.pendingBytes();
    for (const { file, folder } of items) {
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

  /** Go on with a session opened before (a reloaded page), sending ``file``. */
  resume(session, file) {
    const upload = new Upload(file, session.path, this, session);
    this.uploads.push(upload);
    upload.show();
    this.next();
    return upload;
  }

  opened(upload) {
    this.view.opened(upload);
  }

  next() {
    while (this.running < AT_ONCE) {
      const upload = this.uploads.find((u) => u.state === "queued" && !u.started);
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
