"""COPY and MOVE on the fast path answer what wsgidav answers and leave the same
tree; conditions, other hosts and odd shapes are left to wsgidav."""

from __future__ import annotations

from typing import Any

from tests.webdav.fast.conftest import Twins, assert_alike


def test_copy_and_move_as_wsgidav(twins: Twins) -> None:
    steps: list[tuple[str, str, str, dict[str, Any]]] = [
        ("COPY", "/alice/docs/a.txt", "/alice/copy.txt", {}),
        ("COPY", "/alice/docs/a.txt", "/alice/copy.txt", {}),  # replaced: 204
        ("COPY", "/alice/docs/a.txt", "/alice/copy.txt", {"Overwrite": "F"}),  # 412
        ("COPY", "/alice/docs", "/alice/docs-copy", {}),
        ("COPY", "/alice/docs/", "/alice/docs-copy2/", {"Depth": "infinity"}),
        ("MOVE", "/alice/copy.txt", "/alice/moved.txt", {"X-OC-Mtime": "1500000000"}),
        ("COPY", "/alice/moved.txt", "/alice/stamped.txt", {"X-OC-Mtime": "1400000000"}),
        ("MOVE", "/alice/docs-copy/", "/alice/empty-folder/inside/", {}),
        ("MOVE", "/alice/moved.txt", "/alice/docs/a.txt", {"Overwrite": "T"}),  # 204
        ("MOVE", "/alice/nothing.txt", "/alice/x.txt", {}),  # 404
        ("MOVE", "/alice/docs/a.txt", "/alice/missing/x.txt", {}),  # 409
        ("COPY", "/alice/odd%20%23%3F%25%20name.txt", "/alice/q%3F%23%20copy.txt", {}),
        ("MOVE", "/alice/big.bin", "/alice/docs/sub/big.bin", {}),
        ("COPY", "/alice/docs/a.txt", "/alice/bad-mtime.txt", {"X-OC-Mtime": "soon"}),  # 400
    ]
    for method, source, target, headers in steps:
        both(twins, method, source, target, headers)
    assert twins.trees()[0] == twins.trees()[1]


def both(
    twins: Twins,
    method: str,
    source: str,
    target: str,
    headers: dict[str, Any],
    *,
    fast: bool = True,
) -> tuple[Any, Any]:
    """The request on both fronts, each with a Destination on its own host."""
    answers = []
    for client in (twins.fast, twins.slow):
        before = twins.passed_on
        destination = f"http://{client.base_url.netloc.decode()}{target}"
        answers.append(
            client.request(method, source, headers={"Destination": destination, **headers})
        )
        if client is twins.fast:
            assert (twins.passed_on == before) is fast, (method, source, target)
    if fast:
        assert_alike(answers[0], answers[1])
    return answers[0], answers[1]


def test_unusual_requests_go_to_wsgidav(twins: Twins) -> None:
    for method, source, target, headers in (
        ("COPY", "/alice/docs/a.txt", "/alice/c.txt", {"If-Match": '"x"'}),
        ("COPY", "/alice/docs/a.txt", "/alice/c.txt", {"If": "(<opaquelocktoken:x>)"}),
        ("COPY", "/alice/docs", "/alice/shallow", {"Depth": "0"}),
        ("MOVE", "/alice/docs/a.txt", "/alice/docs/a.txt", {}),
        ("MOVE", "/alice/docs", "/alice/docs/sub/docs", {}),
        ("MOVE", "/alice/docs/sub", "/alice/docs", {}),  # onto what holds it: 409
        ("MOVE", "/alice/docs/a.txt", "/bob/a.txt", {}),
        ("MOVE", "/alice/docs/a.txt", "/alice/", {}),
        ("MOVE", "/alice/", "/alice/home", {}),
        ("MOVE", "/alice/docs/a.txt", "/alice/x/../y.txt", {}),
        ("COPY", "/alice/docs/a.txt", "/alice/c.txt", {"Overwrite": "maybe"}),
    ):
        ours, theirs = both(twins, method, source, target, headers, fast=False)
        assert ours.status_code == theirs.status_code, (method, source, target, headers)
    ours = twins.fast.request(
        "COPY", "/alice/big.bin", headers={"Destination": "http://elsewhere.example/alice/c.txt"}
    )
    assert ours.status_code == 502
    assert twins.trees()[0] == twins.trees()[1]
