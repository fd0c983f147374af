"""The links API document's three examples, as docs/links.md gives them (verbatim but for
the host and the key they say to substitute), against a real ``lockr serve``: curl,
JavaScript (Node's fetch) and Python (requests)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LockrProcess, run_cli, signup
from tests.doc_examples import code_blocks


def example(language: str) -> str:
    """The one ``language`` example of docs/links.md."""
    (code,) = code_blocks("links.md", language)
    return code


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LockrProcess, str]]:
    data = tmp_path_factory.mktemp("seed") / "data"
    server = LockrProcess(data).start()
    token = signup(server, "seeduser")
    done = run_cli("user", "set-plan", "seeduser", "pro", "--data", str(data))
    assert done.returncode == 0, done.stderr
    response = httpx.post(
        server.url + "/api/v1/api-key", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    yield server, response.json()["key"]
    server.stop()


def opens_to(server: LockrProcess, link: dict[str, object], expected: str) -> None:
    short = str(link["shortUrl"])
    assert short.startswith(server.url + "/")
    page = httpx.post(short, data={"password": "share-this-separately"})
    if link["type"] == "url":
        assert page.status_code == 303 and page.headers["location"] == expected
    else:
        assert page.status_code == 200 and expected in page.text


def test_curl_example(key: tuple[LockrProcess, str]) -> None:
    server, api_key = key
    command = example("sh")
    command = command.replace("https://lock.pub", server.url).replace(
        "ll_live_your_api_key", api_key
    )
    done = subprocess.run(
        ["bash", "-c", command + " -sS -i"], capture_output=True, text=True, timeout=60
    )
    head, _, body = done.stdout.partition("\n\n")  # text mode turned CRLF into LF
    assert head.startswith("HTTP/1.1 201"), done.stdout + done.stderr
    assert re.search(r"(?im)^x-api-quota-remaining: \d+", head)
    link = json.loads(body)
    assert link["type"] == "url" and link["redirectLimit"] == 3 and link["source"] == "api"
    assert "password" not in link and "targetUrl" not in link
    opens_to(server, link, "https://example.com/private")


def test_javascript_example(key: tuple[LockrProcess, str]) -> None:
    server, api_key = key
    code = example("js")
    code = code.replace("https://lock.pub", server.url)
    done = subprocess.run(
        ["node", "--input-type=module", "-e", code + "\nconsole.log(JSON.stringify(link))"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LOCKPUB_API_KEY": api_key},
    )
    assert done.returncode == 0, done.stderr
    link = json.loads(done.stdout)
    assert link["type"] == "memo" and link["memo"] == "Internal note"
    assert "secretMemo" not in link
    opens_to(server, link, "The encrypted memo body")


def test_python_example(key: tuple[LockrProcess, str]) -> None:
    server, api_key = key
    code = example("python")
    code = code.replace("https://lock.pub", server.url)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LOCKPUB_API_KEY": api_key},
    )
    assert done.returncode == 0, done.stderr
    short = done.stdout.strip()
    assert short.startswith(server.url + "/")
    page = httpx.get(short)
    assert page.status_code == 200 and "Client contract" in page.text
    opens_to(server, {"shortUrl": short, "type": "url"}, "https://example.com/private")


def test_a_key_in_the_query_string_is_refused_and_never_logged(
    key: tuple[LockrProcess, str],
) -> None:
    server, api_key = key
    refused = httpx.get(server.url + "/api/v1/links", params={"api_key": api_key})
    assert refused.status_code == 400 and "query string" in refused.text
    assert api_key not in refused.text
    listed = httpx.get(server.url + "/api/v1/links", headers={"Authorization": f"Bearer {api_key}"})
    assert listed.status_code == 200
    log = server.output()
    assert "/api/v1/links" in log and api_key not in log and api_key[:20] not in log
    assert "share-this-separately" not in log
