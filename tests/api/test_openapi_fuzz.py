"""Schemathesis against a real ``lockr serve``: no input ends in a 5xx, and every answer
matches the OpenAPI document (status codes, content types, body schemas)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api.openapi import document
from tests.conftest import PASSWORD, LockrProcess, running_lockr, signup

pytestmark = pytest.mark.slow

PLACEHOLDER = "http://lockr.invalid"
USERNAME = "fuzzer"
# Basic credentials rather than a token: schemathesis builds its coverage cases while
# pytest collects, before any server runs, so the credentials must be known up front;
# and no fuzzed operation can take them away (revoking tokens cannot, and a password
# change needs the current password, which the fuzzer does not know).
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240611,
        "generation": {"max-examples": 100, "deterministic": True, "database": "none"},
        "auth": {"openapi": {"basic": {"username": USERNAME, "password": PASSWORD}}},
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "unsupported_method": {"enabled": False},
            "allow_header_conformance": {"enabled": False},
        },
    }
)
# Loaded when the module is collected; the fixture checks that the server serves this
# very document.
schema = schemathesis.openapi.from_dict(document(PLACEHOLDER), config=CONFIG)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    """A server of its own, with limits no fuzzing reaches: thousands of requests and
    wrong Basic credentials from one address would otherwise end in 429s (which the
    module's shared server keeps low for the tests of those limits)."""
    settings = {
        "LOCKR_DEFAULT_QUOTA": "1GiB",
        "LOCKR_RATE_LIMIT_PER_ADDRESS": "1000000",
        "LOCKR_RATE_LIMIT_PER_ACCOUNT": "1000000",
        "LOCKR_LOGIN_MAX_FAILURES": "1000000",
        "LOCKR_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
        "LOCKR_BASIC_CACHE_SECONDS": "3600",
    }
    with running_lockr(tmp_path_factory, "fuzz", settings) as process:
        served = httpx.get(process.url + "/api/v1/openapi.json").json()
        assert served == {**schema.raw_schema, "servers": [{"url": process.url}]}
        signup(process, USERNAME)
        yield process


@schema.parametrize()
def test_no_5xx_and_every_answer_is_documented(
    case: schemathesis.Case, fuzz_server: LockrProcess
) -> None:
    """Each operation: the document's examples, its coverage cases (boundaries, missing
    and wrong-typed parameters, other media types), then schema-valid and invalid
    inputs; every answer is checked against the document, and that it takes no
    credentials where it asks for them."""
    case.call_and_validate(base_url=fuzz_server.url)


# Operations on one file, fuzzed with the id of a file that exists (random ids only
# ever reach the 404 branch), with a download key or without. DELETE gets a file of its
# own each time. A file is an entry of the account's tree too.
ON_A_FILE = [
    ("GET", "/api/v1/files/{file_id}", None),
    ("POST", "/api/v1/files/{file_id}/key", None),
    ("GET", "/api/v1/files/{file_id}/signed-url", None),
    ("GET", "/api/v1/download/{file_id}", None),
    ("GET", "/api/v1/download/{file_id}", "phrase"),
    ("HEAD", "/api/v1/download/{file_id}", None),
    ("HEAD", "/api/v1/download/{file_id}", "phrase"),
    ("GET", "/download/{file_id}", "phrase"),
    ("DELETE", "/api/v1/files/{file_id}", None),
    ("PATCH", "/api/v1/entries/{entry_id}", None),
    ("DELETE", "/api/v1/entries/{entry_id}", None),
]


def upload(server: LockrProcess, *, key: str | None = None) -> str:
    response = httpx.post(
        server.url + "/api/v1/upload",
        content=b"fuzz " * 100,
        headers={"x-file-name": "fuzz.txt", **({"x-file-key": key} if key else {})},
        auth=(USERNAME, PASSWORD),
    )
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


@pytest.mark.parametrize(("method", "path", "key"), ON_A_FILE)
def test_operations_on_a_file_that_exists(
    fuzz_server: LockrProcess, method: str, path: str, key: str | None
) -> None:
    operation = schema[path][method]
    shared = upload(fuzz_server, key=key)

    @given(data=st.data())
    @settings(
        max_examples=40,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(data: st.DataObject) -> None:
        file_id = upload(fuzz_server) if method == "DELETE" else shared
        mode = data.draw(st.sampled_from(list(GenerationMode)))
        name = "entry_id" if "{entry_id}" in path else "file_id"
        case = data.draw(operation.as_strategy(mode, path_parameters={name: file_id}))
        case.call_and_validate(base_url=fuzz_server.url)

    run()
