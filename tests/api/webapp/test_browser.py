"""The web app in a real browser (Debian's Chromium driven by Playwright; nothing is
downloaded), against one real ``lockr serve`` for the module: signing up, in and out
and changing the password; uploads by picker and by drag and drop, with progress, and
those refused before a byte is sent; cancelling; folders, rename, move (by a dialog and
by dragging rows) and delete; ticked files and folders downloaded as one zip; a
phone's width. Screenshots of the main pages, at 1280 and 390 px, are written to
``test-artifacts/screenshots/`` for a reviewer to look at."""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import GENEROUS_LIMITS, PASSWORD, LockrProcess, run_cli, running_lockr

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

_names = iter(range(1_000_000))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    settings = {"LOCKR_DEFAULT_QUOTA": "1GiB", "LOCKR_MAX_OBJECT_SIZE": "100MiB"}
    with running_lockr(tmp_path_factory, "webapp", GENEROUS_LIMITS | settings) as process:
        yield process


class Visitor:
    """A browser context signed up as a new account (through the sign-up form)."""

    def __init__(self, browser: Browser, server: LockrProcess, viewport: dict[str, int]) -> None:
        self.server = server
        self.name = f"web{next(_names)}"
        self.context: BrowserContext = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(server.url + "/signup")
        self.page.fill("#username", self.name)
        self.page.fill("#email", f"{self.name}@example.com")
        self.page.fill("#new-password", PASSWORD)
        self.page.click("#signup button[type=submit]")
        expect(self.page).to_have_url(server.url + "/files")
        expect(self.page.locator("#quota-text")).to_contain_text("used")

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The JSON API as this account, with Basic credentials (not the browser's)."""
        return httpx.request(
            method, self.server.url + path, auth=(self.name, PASSWORD), timeout=60, **kwargs
        )

    def entries(self, path: str = "") -> dict[str, dict[str, Any]]:
        answer = self.api("GET", "/api/v1/entries", params={"path": path})
        assert answer.status_code == 200, answer.text
        return {entry["name"]: entry for entry in answer.json()["entries"]}

    def row(self, name: str) -> Any:
        return self.page.locator(f"#entries tr[data-name='{name}']")

    def act(self, name: str, action: str) -> None:
        """Open the row's actions menu and choose ``action``. The listing may be drawn
        again just after the menu opened (an upload that finished refreshes it), which
        closes the menu: it is then opened again."""
        button = self.row(name).locator(f"button[data-action='{action}']")
        for _ in range(5):
            self.row(name).locator("summary").click()
            try:
                button.click(timeout=2000)
                return
            except PlaywrightTimeoutError:
                continue
        button.click()

    def close(self) -> None:
        assert self.errors == []
        self.context.close()


@pytest.fixture
def visitor(browser: Browser, server: LockrProcess) -> Iterator[Visitor]:
    visitor = Visitor(browser, server, WIDE)
    yield visitor
    visitor.close()


def watch_progress(page: Page) -> None:
    """Record every value each upload's progress bar shows, in ``window.seen``."""
    page.evaluate(
        """() => {
        window.seen = {};
        new MutationObserver((records) => {
            for (const record of records) {
                const row = record.target.closest("li.upload");
                if (!row || record.target.tagName !== "PROGRESS") continue;
                (window.seen[row.dataset.name] ||= []).push(Number(record.target.value));
            }
        }).observe(document.getElementById("uploads"),
                   { attributes: true, subtree: true, attributeFilter: ["value"] });
    }"""
    )


def session_requests(page: Page) -> list[str]:
    """The upload sessions the page asks for, as it asks."""
    asked: list[str] = []
    page.on(
        "request",
        lambda request: (
            asked.append(request.post_data or "")
            if request.url.endswith("/api/v1/upload/session")
            else None
        ),
    )
    return asked


def test_sign_up_sign_out_sign_in_and_change_the_password(
    browser: Browser, server: LockrProcess
) -> None:
    visitor = Visitor(browser, server, WIDE)
    page = visitor.page
    expect(page.locator("#who")).to_have_text(visitor.name)
    expect(page.locator("nav[aria-label=Main] a[aria-current=page]")).to_have_text("Files")
    page.click("#sign-out")
    expect(page).to_have_url(server.url + "/login")
    page.goto(server.url + "/settings")
    expect(page).to_have_url(server.url + "/login?next=%2Fsettings")
    page.fill("#identifier", visitor.name)
    page.fill("#password", "not the password")
    page.click("#login button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("wrong")
    page.fill("#password", PASSWORD)
    page.click("#login button[type=submit]")
    expect(page).to_have_url(server.url + "/settings")
    expect(page.locator("#usage")).to_contain_text("used")
    expect(page.locator("#tokens li")).to_have_count(1)  # signing out ended the first
    page.fill("#token-name", "laptop rclone")
    page.click("#new-token button[type=submit]")
    expect(page.locator("#token-value")).to_contain_text("lk_")  # shown once
    token = page.locator("#token-value").inner_text()
    expect(page.locator("#tokens li")).to_have_count(2)
    assert (
        httpx.get(
            server.url + "/api/v1/account", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    page.fill("#pw-current", "not the password")
    page.fill("#pw-new", "a new passphrase")
    page.click("#password button[type=submit]")
    expect(page.locator("#password-error")).to_contain_text("current password")
    page.fill("#pw-current", PASSWORD)
    page.fill("#pw-new", "a new passphrase")
    page.check("#pw-revoke")
    page.click("#password button[type=submit]")
    expect(page.locator("#password-done")).to_contain_text("Password changed")
    expect(page.locator("#tokens li")).to_have_count(1)  # this session only
    me = server.url + "/api/v1/account"
    assert httpx.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    expect(page.locator("#tokens li")).to_contain_text("this session")
    expect(page.locator("#pw-current")).to_have_value("")
    page.goto(server.url + "/files")  # the session outlives the change
    expect(page.locator("#who")).to_have_text(visitor.name)
    assert httpx.get(me, auth=(visitor.name, PASSWORD)).status_code == 401
    assert httpx.get(me, auth=(visitor.name, "a new passphrase")).status_code == 200
    visitor.close()


def test_uploads_show_progress_and_refusals_send_nothing(
    visitor: Visitor, server: LockrProcess, tmp_path: Path
) -> None:
    page = visitor.page
    big = random_file(tmp_path / "big.bin", 64)
    notes = tmp_path / "notes.txt"
    notes.write_text("the notes")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(os.urandom(50_000))
    asked = session_requests(page)
    watch_progress(page)
    page.set_input_files("#pick", [str(big), str(notes), str(photo)])
    for name in ("big.bin", "notes.txt", "photo.jpg"):
        row = page.locator(f"li.upload[data-name='{name}']")
        expect(row).to_have_attribute("data-state", "done", timeout=120_000)
    expect(visitor.row("big.bin")).to_have_count(1)
    seen = page.evaluate("window.seen['big.bin']")
    between = [value for value in seen if 0 < value < 64 * MiB]
    assert len(set(between)) >= 3, seen  # the bar moved on while the bytes went
    assert between == sorted(between) and seen[-1] == 64 * MiB
    stored = visitor.entries()
    assert stored["big.bin"]["size"] == 64 * MiB
    assert stored["big.bin"]["sha1"] == hashlib.sha1(big.read_bytes()).hexdigest()
    assert stored["notes.txt"]["type"] == "text/plain" and stored["photo.jpg"]["size"] == 50_000
    expect(visitor.row("big.bin").locator("td.size")).to_have_text("64 MiB")
    expect(page.locator("#quota-text")).to_contain_text("64 MiB of 1 GiB used")
    assert len(asked) == 3

    # Dropped files go to the folder shown.
    page.evaluate(
        """() => {
        const data = new DataTransfer();
        data.items.add(new File(["dropped one"], "dropped-1.txt", { type: "text/plain" }));
        data.items.add(new File(["dropped two"], "dropped-2.txt", { type: "text/plain" }));
        const area = document.getElementById("files");
        area.dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true }));
        area.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
    }"""
    )
    for name in ("dropped-1.txt", "dropped-2.txt"):
        expect(page.locator(f"li.upload[data-name='{name}']")).to_have_attribute(
            "data-state", "done"
        )
        expect(visitor.row(name)).to_have_count(1)
    assert (
        visitor.api("GET", "/api/v1/download/" + visitor.entries()["dropped-2.txt"]["id"]).text
        == "dropped two"
    )
    assert len(asked) == 5

    # Too large for one file (100 MiB here), and more than the quota has room for:
    # refused in the page, with the reason, before any session is asked for.
    huge = tmp_path / "huge.iso"
    with huge.open("wb") as handle:
        handle.truncate(101 * MiB)  # sparse: the browser reads only its size
    page.set_input_files("#pick", str(huge))
    refused = page.locator("li.upload[data-name='huge.iso']")
    expect(refused).to_have_attribute("data-state", "refused")
    expect(refused).to_contain_text("too large: the limit is 100 MiB per file")
    quota = run_cli("user", "set-quota", visitor.name, "70MiB", "--data", str(server.data))
    assert quota.returncode == 0, quota.stderr
    roomy = tmp_path / "roomy.bin"
    roomy.write_bytes(os.urandom(7 * MiB))
    page.set_input_files("#pick", str(roomy))
    too_much = page.locator("li.upload[data-name='roomy.bin']")
    expect(too_much).to_have_attribute("data-state", "refused")
    expect(too_much).to_contain_text("not enough room")
    assert len(asked) == 5  # neither was sent
    expect(page.locator("#quota-text")).to_contain_text("of 70 MiB used")


def test_cancel_stops_the_upload_and_frees_what_it_held(visitor: Visitor, tmp_path: Path) -> None:
    page = visitor.page
    slow = random_file(tmp_path / "slow.bin", 24)
    throttle(visitor, 2 * MiB)
    page.set_input_files("#pick", str(slow))
    row = page.locator("li.upload[data-name='slow.bin']")
    expect(row).to_have_attribute("data-state", "uploading")
    expect(row.locator("progress")).not_to_have_attribute("value", "0")  # bytes went
    expect(row.locator(".upload-text")).to_contain_text("left")  # speed and time left
    row.locator("button.upload-cancel").click()
    expect(row).to_have_attribute("data-state", "cancelled")
    expect(row.locator(".upload-text")).to_have_text("Cancelled")
    for _ in range(100):
        account = visitor.api("GET", "/api/v1/account").json()["account"]
        if account["reservedBytes"] == 0:
            break
        page.wait_for_timeout(100)
    assert account["reservedBytes"] == 0 and account["usedBytes"] == 0
    assert "slow.bin" not in visitor.entries()


def throttle(visitor: Visitor, bytes_per_second: int) -> None:
    """Make the browser's uploads this slow (Chromium's network emulation)."""
    cdp = visitor.context.new_cdp_session(visitor.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def chunk_starts(page: Page) -> list[int]:
    """Where each chunk the page sends starts (a status query is -1), as it sends."""
    starts: list[int] = []

    def seen(request: Any) -> None:
        if request.method == "PUT" and "/api/v1/upload/session/" in request.url:
            what = request.headers.get("content-range", "bytes 0-")
            starts.append(-1 if "*" in what else int(what.split()[1].split("-")[0]))

    page.on("request", seen)
    return starts


def random_file(path: Path, mib: int) -> Path:
    with path.open("wb") as handle:
        for _ in range(mib):
            handle.write(os.urandom(MiB))
    return path


def test_pause_resume_and_a_dropped_connection(visitor: Visitor, tmp_path: Path) -> None:
    page = visitor.page
    starts = chunk_starts(page)
    dropped = []

    def drop_the_first_chunk(route: Any) -> None:
        if route.request.method == "PUT" and not dropped:
            dropped.append(route.request.headers.get("content-range"))
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/upload/session/**", drop_the_first_chunk)
    first = random_file(tmp_path / "first.bin", 12)
    page.set_input_files("#pick", str(first))
    row = page.locator("li.upload[data-name='first.bin']")
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    assert dropped == [f"bytes 0-{8 * MiB - 1}/{12 * MiB}"]
    assert starts[:3] == [0, -1, 0]  # dropped, asked where to go on, sent again
    held = visitor.entries()["first.bin"]
    assert held["sha1"] == hashlib.sha1(first.read_bytes()).hexdigest()
    page.unroute("**/api/v1/upload/session/**")

    throttle(visitor, 4 * MiB)
    second = random_file(tmp_path / "second.bin", 20)
    page.set_input_files("#pick", str(second))
    row = page.locator("li.upload[data-name='second.bin']")
    expect(row.locator("progress")).not_to_have_attribute("value", "0")  # bytes went
    row.locator("button.upload-pause").click()
    expect(row).to_have_attribute("data-state", "paused")
    expect(row.locator(".upload-text")).to_contain_text("Paused at")
    expect(row.locator("button.upload-pause")).to_have_text("Resume")
    sent_before = len(starts)
    row.locator("button.upload-pause").click()
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    assert starts[sent_before] == -1  # resuming asks the server where it stopped first
    held = visitor.entries()["second.bin"]
    assert held["sha1"] == hashlib.sha1(second.read_bytes()).hexdigest()


def test_an_upload_cut_by_a_reload_goes_on_from_where_the_server_stopped(
    visitor: Visitor, tmp_path: Path
) -> None:
    page = visitor.page
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?"
    big = random_file(tmp_path / "long.bin", 24)
    throttle(visitor, 4 * MiB)
    page.set_input_files("#pick", str(big))
    expect(page.locator("li.upload[data-name='long.bin']")).to_have_attribute(
        "data-state", "uploading"
    )
    for _ in range(600):
        sessions = visitor.api("GET", "/api/v1/upload/sessions").json()["sessions"]
        if sessions and sessions[0]["received"] >= 8 * MiB:
            break
        page.wait_for_timeout(50)
    stored = sessions[0]["received"]
    assert stored >= 8 * MiB
    page.reload()
    starts = chunk_starts(page)
    row = page.locator("li.unfinished[data-name='long.bin']")
    expect(row.locator(".upload-text")).to_contain_text("of 24 MiB stored")
    other = random_file(tmp_path / "other.bin", 1)
    with page.expect_file_chooser() as chooser:
        row.locator("button.upload-resume").click()
    chooser.value.set_files(str(other))
    expect(row.locator(".upload-problem")).to_contain_text("not the same file")
    with page.expect_file_chooser() as chooser:
        row.locator("button.upload-resume").click()
    chooser.value.set_files(str(big))
    done = page.locator("li.upload[data-name='long.bin']")
    expect(done).to_have_attribute("data-state", "done", timeout=60_000)
    assert starts[0] == -1 and starts[1] >= stored  # nothing stored was sent again
    held = visitor.entries()["long.bin"]
    assert held["sha1"] == hashlib.sha1(big.read_bytes()).hexdigest()
    assert visitor.api("GET", "/api/v1/upload/sessions").json()["sessions"] == []


def test_a_whole_folder_is_uploaded(visitor: Visitor, tmp_path: Path) -> None:
    album = tmp_path / "album"
    (album / "day one").mkdir(parents=True)
    (album / "cover.txt").write_text("the cover")
    (album / "day one" / "a.txt").write_text("first day")
    (album / "day one" / "b.txt").write_text("first day, again")
    page = visitor.page
    page.set_input_files("#pick-folder", str(album))
    for name in ("cover.txt", "a.txt", "b.txt"):
        expect(page.locator(f"li.upload[data-name='{name}']")).to_have_attribute(
            "data-state", "done"
        )
    expect(visitor.row("album")).to_have_count(1)
    assert set(visitor.entries("album")) == {"cover.txt", "day one"}
    inner = visitor.entries("album/day one")
    assert set(inner) == {"a.txt", "b.txt"}
    assert visitor.api("GET", "/api/v1/download/" + inner["b.txt"]["id"]).text == "first day, again"


def test_folders_rename_move_and_delete(visitor: Visitor, server: LockrProcess) -> None:
    page = visitor.page
    for name, data in (("a.txt", b"a"), ("b.txt", b"bb"), ("c.txt", b"ccc")):
        made = visitor.api("POST", "/api/v1/upload", content=data, headers={"x-file-name": name})
        assert made.status_code == 201
    page.click("#new-folder")
    page.fill("#name-input", "Reports 2024")
    page.click("#name-ok")
    expect(visitor.row("Reports 2024")).to_have_count(1)
    visitor.row("Reports 2024").locator("a").click()
    expect(page).to_have_url(server.url + "/files/Reports%202024")
    expect(page.locator("#crumbs [aria-current=location]")).to_have_text("Reports 2024")
    expect(page.locator("#empty")).to_be_visible()
    page.click("#crumbs a")  # back to the top
    expect(page).to_have_url(server.url + "/files")
    visitor.row("uploads").locator("a").click()
    expect(visitor.row("a.txt")).to_have_count(1)

    visitor.act("a.txt", "rename")
    expect(page.locator("#name-input")).to_be_focused()
    page.fill("#name-input", "b.txt")
    page.click("#name-ok")
    expect(page.locator("#name-error")).to_contain_text("exists")  # never overwrites
    page.fill("#name-input", "renamed.txt")
    page.keyboard.press("Enter")
    expect(visitor.row("renamed.txt")).to_have_count(1)
    expect(visitor.row("a.txt")).to_have_count(0)

    visitor.row("renamed.txt").locator("input.pick-entry").check()
    visitor.row("b.txt").locator("input.pick-entry").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.click("#move-selected")
    dialog = page.locator("#move-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#move-crumbs button", has_text="Files").click()
    dialog.locator("#move-folders button", has_text="Reports 2024").click()
    expect(dialog.locator("#move-crumbs [aria-current=location]")).to_have_text("Reports 2024")
    page.click("#move-ok")
    expect(dialog).to_be_hidden()
    expect(visitor.row("renamed.txt")).to_have_count(0)
    expect(page.locator("#selection")).to_be_hidden()
    assert set(visitor.entries("Reports 2024")) == {"renamed.txt", "b.txt"}

    visitor.act("c.txt", "delete")
    expect(page.locator("#delete-title")).to_have_text("Delete “c.txt”?")
    page.click("#delete-dialog [data-close]")  # changed my mind
    expect(visitor.row("c.txt")).to_have_count(1)
    visitor.act("c.txt", "delete")
    page.click("#delete-ok")
    expect(visitor.row("c.txt")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()
    page.go_back()  # the browser's history walks the folders
    expect(page).to_have_url(server.url + "/files")
    page.locator("#select-all").check()
    page.click("#delete-selected")
    expect(page.locator("#delete-what")).to_contain_text("everything in them")
    page.click("#delete-ok")
    expect(page.locator("#empty")).to_be_visible()
    assert visitor.entries() == {}
    assert visitor.api("GET", "/api/v1/account").json()["account"]["usedBytes"] == 0


def test_rows_dragged_onto_a_folder_move_there(visitor: Visitor) -> None:
    page = visitor.page
    for folder in ("Inbox", "Archive"):
        assert visitor.api("POST", "/api/v1/folders", json={"path": folder}).status_code == 201
    for name in ("d.txt", "e.txt", "f.txt"):
        put(visitor, "", name, name.encode())
    page.reload()
    page.drag_and_drop("tr[data-name='d.txt'] .entry-link", "tr[data-name='Archive']")
    expect(visitor.row("d.txt")).to_have_count(0)
    expect(page.locator("#status")).to_have_text("Moved to Archive.")
    # A ticked row carries the other ticked rows with it; a folder goes too.
    visitor.row("e.txt").locator("input.pick-entry").check()
    visitor.row("Inbox").locator("input.pick-entry").check()
    page.drag_and_drop("tr[data-name='e.txt'] .entry-link", "tr[data-name='Archive']")
    expect(visitor.row("e.txt")).to_have_count(0)
    expect(visitor.row("Inbox")).to_have_count(0)
    assert set(visitor.entries("Archive")) == {"d.txt", "e.txt", "Inbox"}
    # A file is no place to drop onto: nothing moves.
    page.drag_and_drop("tr[data-name='Archive'] .entry-link", "tr[data-name='f.txt']")
    assert set(visitor.entries()) == {"Archive", "f.txt"}


def put(visitor: Visitor, folder: str, name: str, data: bytes) -> dict[str, Any]:
    """A file made in ``folder`` through a resumable session, as this account."""
    opened = visitor.api(
        "POST", "/api/v1/upload/session", json={"name": name, "size": len(data), "path": folder}
    )
    assert opened.status_code == 201, opened.text
    done = httpx.put(opened.json()["uploadUrl"], content=data, timeout=60)
    assert done.status_code == 201, done.text
    return done.json()  # type: ignore[no-any-return]


def test_ticked_files_and_a_folder_download_as_one_zip(
    visitor: Visitor, server: LockrProcess, tmp_path: Path
) -> None:
    page = visitor.page
    for folder in ("album", "album/deep"):
        assert visitor.api("POST", "/api/v1/folders", json={"path": folder}).status_code == 201
    files = {
        "one.txt": put(visitor, "", "one.txt", b"one"),
        "two.bin": put(visitor, "", "two.bin", os.urandom(3 * MiB + 1)),
        "album/pic.bin": put(visitor, "album", "pic.bin", os.urandom(70_000)),
        "album/deep/x.txt": put(visitor, "album/deep", "x.txt", b"deep down"),
    }
    put(visitor, "", "left out.txt", b"not ticked")
    page.reload()
    for name in ("one.txt", "two.bin", "album"):
        visitor.row(name).locator("input.pick-entry").check()
    expect(page.locator("#selected-count")).to_have_text("3 selected")
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size(WIDE)  # type: ignore[arg-type]
    with page.expect_download() as started:
        page.click("#download-selected")
    download = started.value
    assert re.fullmatch(r"lockr-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == sorted(
            ["one.txt", "two.bin", "album/", "album/deep/", "album/pic.bin", "album/deep/x.txt"]
        )
        for name, file in files.items():
            assert hashlib.sha1(archive.read(name)).hexdigest() == file["sha1"], name
    expect(page.locator("#status")).to_have_text("Downloading 3 items as a zip.")
    # One file alone downloads as itself.
    page.click("#clear-selection")
    visitor.row("one.txt").locator("input.pick-entry").check()
    with page.expect_download() as single:
        page.click("#download-selected")
    assert single.value.suggested_filename == "one.txt"
    # Something ticked that has gone since is said on the page, not shown as JSON.
    visitor.row("left out.txt").locator("input.pick-entry").check()
    gone = visitor.entries()["left out.txt"]["id"]
    assert visitor.api("DELETE", f"/api/v1/entries/{gone}").status_code == 204
    page.click("#download-selected")
    expect(page.locator("#status")).to_have_text(
        "Something picked is gone; the folder is shown again."
    )
    expect(visitor.row("left out.txt")).to_have_count(0)


def test_a_key_and_a_share_of_one_download(
    visitor: Visitor, browser: Browser, server: LockrProcess
) -> None:
    made = visitor.api(
        "POST", "/api/v1/upload", content=b"the plans", headers={"x-file-name": "plans.txt"}
    )
    assert made.status_code == 201
    page = visitor.page
    page.goto(server.url + "/files/uploads")  # where the API's direct uploads land
    visitor.act("plans.txt", "share")
    dialog = page.locator("#share-dialog")
    expect(dialog.locator("#share-title")).to_have_text("Share “plans.txt”")
    page_url = dialog.locator("#page-url").input_value()
    assert page_url == made.json()["pageUrl"]
    dialog.locator("#key-phrase").fill("correct horse")
    dialog.locator("#set-key").click()
    expect(dialog.locator("#key-state")).to_contain_text("A key is set")
    expect(visitor.row("plans.txt").locator("td.key")).to_have_text("Key set")
    dialog.locator("#share-limit").fill("1")
    dialog.locator("#create-share").click()
    expect(dialog.locator("#share-url")).to_contain_text("/s/sh_")
    share_url = dialog.locator("#share-url").inner_text()
    expect(dialog.locator("#share-list li")).to_contain_text("0 of 1 downloads")
    dialog.locator("[data-close]").click()

    stranger = browser.new_context(accept_downloads=True)
    try:
        other = stranger.new_page()
        other.goto(page_url)  # the download page asks for the key's phrase
        other.fill("#key", "correct horse")
        with other.expect_download() as got:
            other.click("#download")
        assert got.value.path().read_bytes() == b"the plans"
        other.goto(share_url)  # the share needs no key, and lets one download through
        expect(other.locator("#share-state")).to_contain_text("1 download left")
        with other.expect_download() as got:
            other.click("#download")
        assert got.value.path().read_bytes() == b"the plans"
        other.goto(share_url)
        expect(other.locator("#share-state")).to_contain_text("used as many times")
        expect(other.locator("#download")).to_have_count(0)
    finally:
        stranger.close()
    visitor.act("plans.txt", "share")
    expect(dialog.locator("#share-list li")).to_contain_text("1 of 1 downloads · used up")
    dialog.locator("#share-list button").click()
    expect(dialog.locator("#share-list li")).to_have_text("No share links yet.")


def test_a_guest_uploads_then_signs_up_and_claims_it(
    browser: Browser, server: LockrProcess, tmp_path: Path
) -> None:
    context = browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(server.url + "/upload")
        expect(page.locator("#guest-limit")).to_have_text("5 GiB")
        note = tmp_path / "guest note.txt"
        note.write_text("left by a guest")
        page.set_input_files("#pick", str(note))
        row = page.locator("li.upload[data-name='guest note.txt']")
        expect(row).to_have_attribute("data-state", "done")
        link = row.locator("a.upload-link")
        expect(link).to_contain_text("/download/")
        page.goto(link.inner_text())  # the download link works for anyone
        with page.expect_download() as got:
            page.click("#download")
        assert got.value.path().read_text() == "left by a guest"

        name = f"web{next(_names)}"
        page.goto(server.url + "/signup")
        page.fill("#username", name)
        page.fill("#email", f"{name}@example.com")
        page.fill("#new-password", PASSWORD)
        page.click("#signup button[type=submit]")
        expect(page.locator("#claim-text")).to_contain_text("“guest note.txt”")
        page.click("#claim")
        expect(page.locator("#claims")).to_be_hidden()
        mine = httpx.get(
            server.url + "/api/v1/entries", params={"path": "uploads"}, auth=(name, PASSWORD)
        ).json()
        assert [entry["name"] for entry in mine["entries"]] == ["guest note.txt"]
        page.reload()
        expect(page.locator("#claims")).to_be_hidden()  # claimed once, not offered again
        page.goto(server.url + "/upload")
        expect(page).to_have_url(server.url + "/files")  # signed in: no guest page
    finally:
        context.close()


def test_settings_make_an_s3_key_and_rclone_remotes(visitor: Visitor, server: LockrProcess) -> None:
    page = visitor.page
    page.click("nav a[href='/settings']")
    expect(page.locator("#dav-url")).to_have_text(
        f"http://127.0.0.1:{server.dav_port}/{visitor.name}/"
    )
    page.fill("#s3-key-name", "backup server")
    page.click("#new-s3-key button[type=submit]")
    expect(page.locator("#s3-once-text")).to_contain_text("secret_access_key = ")
    expect(page.locator("#s3-keys li")).to_contain_text("backup server")
    expect(page.locator("#s3-keys li")).to_contain_text("never used")
    page.click("#rclone-webdav")
    expect(page.locator("#rclone-config")).to_have_value(re.compile(r"^\[lockr\]\ntype = webdav\n"))
    expect(page.locator("#rclone-command")).to_have_value(
        re.compile(rf"^rclone sync s3:your-source-bucket lockr:{visitor.name} ")
    )
    expect(page.locator("#tokens li")).to_have_count(2)  # the session and rclone's
    page.locator("#tokens li button").click()  # rclone's: the session's row has none
    expect(page.locator("#tokens li")).to_have_count(1)
    page.click("#rclone-s3")
    expect(page.locator("#rclone-config")).to_have_value(re.compile(r"type = s3\n"))
    expect(page.locator("#s3-keys li")).to_have_count(2)
    page.locator("#s3-keys li", has_text="backup server").locator("button").click()
    expect(page.locator("#s3-keys li")).to_have_count(1)


def test_keyboard_alone_makes_a_folder(visitor: Visitor) -> None:
    page = visitor.page
    page.focus("#new-folder")
    page.keyboard.press("Enter")
    expect(page.locator("#name-input")).to_be_focused()
    page.keyboard.type("Typed")
    page.keyboard.press("Enter")
    expect(visitor.row("Typed")).to_have_count(1)
    page.keyboard.press("Escape")
    visitor.row("Typed").locator("summary").focus()
    page.keyboard.press("Enter")
    expect(visitor.row("Typed").locator("button[data-action=rename]")).to_be_visible()


def test_pages_fit_a_phone_and_are_pictured(browser: Browser, server: LockrProcess) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visitor = Visitor(browser, server, WIDE)
    made = {}
    for name, data, media in (
        ("Quarterly report.pdf", one_page_pdf("Q3"), "application/pdf"),
        ("holiday.jpg", b"j" * 90_000, "application/octet-stream"),
    ):
        headers = {"x-file-name": name, "content-type": media}
        made[name] = visitor.api("POST", "/api/v1/upload", content=data, headers=headers).json()
    visitor.api("POST", "/api/v1/folders", json={"path": "Projects"})
    page = visitor.page
    shots = {
        "files": "/files/uploads",
        "settings": "/settings",
        "links": "/links",
    }
    for viewport, label in ((WIDE, "1280"), (PHONE, "390")):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        for name, path in shots.items():
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert fits, f"{path} scrolls sideways at {label} px"
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    signed_out = browser.new_context()
    try:
        other = signed_out.new_page()
        for viewport, label in ((WIDE, "1280"), (PHONE, "390")):
            other.set_viewport_size(viewport)  # type: ignore[arg-type]
            for name in ("login", "signup", "upload", "download-pdf"):
                pdf_page = made["Quarterly report.pdf"]["pageUrl"]
                other.goto(pdf_page if name == "download-pdf" else f"{server.url}/{name}")
                other.wait_for_load_state("load")
                assert other.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
                other.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    finally:
        signed_out.close()
    visitor.close()


def one_page_pdf(text: str) -> bytes:
    """A valid one-page PDF that says ``text`` (ASCII, no parentheses)."""
    stream = f"BT /F1 24 Tf 40 100 Td ({text}) Tj ET".encode()
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        table,
    )
    return out


def serious_violations(page: Page) -> list[str]:
    """What axe-core (vendored, tests/vendor/axe-core/) finds on the page against WCAG
    2.x A and AA, of serious or critical impact: one line per rule and element. It is
    evaluated through the browser's devtools protocol, which the page's
    Content-Security-Policy does not govern, so the page stays as served."""
    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256
    page.evaluate(source.decode() + "\n;undefined")
    found = page.evaluate(
        """async () => {
        const result = await axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        });
        return result.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(" ")}`));
    }"""
    )
    return list(found)


def test_no_serious_accessibility_violations(
    browser: Browser, server: LockrProcess, tmp_path: Path
) -> None:
    visitor = Visitor(browser, server, WIDE)
    page = visitor.page
    made = visitor.api(
        "POST", "/api/v1/upload", content=b"a report", headers={"x-file-name": "report.txt"}
    ).json()
    keyed = visitor.api(
        "POST",
        "/api/v1/upload",
        content=b"k",
        headers={"x-file-name": "keyed.txt", "x-file-key": "phrase"},
    ).json()
    share = visitor.api(
        "POST", f"/api/v1/files/{made['id']}/shares", json={"password": "open sesame"}
    ).json()
    pdf = visitor.api(
        "POST",
        "/api/v1/upload",
        content=one_page_pdf("Shown in a frame"),
        headers={"x-file-name": "shown.pdf", "content-type": "application/pdf"},
    ).json()
    found: dict[str, list[str]] = {}
    for viewport in (WIDE, PHONE):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        page.goto(server.url + "/files/uploads")
        expect(visitor.row("report.txt")).to_have_count(1)
        page.set_input_files("#pick", str(random_file(tmp_path / "a.bin", 1)))
        expect(page.locator("li.upload[data-name='a.bin']")).to_have_attribute("data-state", "done")
        found[f"files {viewport['width']}"] = serious_violations(page)
        visitor.act("report.txt", "share")
        expect(page.locator("#share-list li")).to_have_count(1)
        found[f"share dialog {viewport['width']}"] = serious_violations(page)
        page.keyboard.press("Escape")
        visitor.act("report.txt", "move")
        expect(page.locator("#move-folders li").first).to_be_visible()
        found[f"move dialog {viewport['width']}"] = serious_violations(page)
        page.keyboard.press("Escape")
        for path in ("/settings", "/links"):
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            found[f"{path} {viewport['width']}"] = serious_violations(page)
    visitor.close()
    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        pages = ("/login", "/signup", "/upload", keyed["pageUrl"], pdf["pageUrl"], share["url"])
        for path in pages:
            other.goto(path if path.startswith("http") else server.url + path)
            found[path] = serious_violations(other)
        # The check itself works: a field without a label is caught.
        other.evaluate("document.querySelector('form').append(document.createElement('input'))")
        assert any(line.startswith("label (critical)") for line in serious_violations(other))
    finally:
        stranger.close()
    assert {page: lines for page, lines in found.items() if lines} == {}
