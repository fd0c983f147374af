"""The litmus WebDAV conformance suite (Debian's litmus 0.13, installed by
scripts/test-deps) against a running lockr: every test of the basic, copymove,
props, locks and http groups must pass."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.webdav.conftest import DavUser

GROUPS = ["basic", "copymove", "props", "locks", "http"]


def test_litmus_passes_every_group(dav_user: DavUser, tmp_path: Path) -> None:
    litmus = shutil.which("litmus")
    if litmus is None:
        pytest.fail("litmus is not installed: run scripts/test-deps (make test does)")
    result = subprocess.run(
        [litmus, f"{dav_user.dav}/{dav_user.name}/", dav_user.name, PASSWORD],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # litmus writes debug.log and child.log where it runs
        env={**os.environ, "TESTS": " ".join(GROUPS)},
    )
    summaries = dict(
        re.findall(
            r"<- summary for `(\w+)': of (\d+) tests run: \d+ passed, 0 failed", result.stdout
        )
    )
    failures = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert set(summaries) == set(GROUPS), result.stdout[-3000:]
    assert failures == []
    assert sum(int(n) for n in summaries.values()) == 104
