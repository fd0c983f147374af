"""How entries are named in WebDAV answers, on both paths: XML-safe display names
and the ownCloud namespace rclone reads checksums and permissions from."""

from __future__ import annotations

import re

from gateway.storage import Entry

OC = "{http://owncloud.org/ns}"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry (even escaped) replaced by
    U+FFFD, for names stored before control characters were refused: hrefs carry
    them percent-encoded, a displayname cannot."""
    return _NOT_XML.sub("\ufffd", text)


def display_name(entry: Entry, username: str) -> str:
    """What a file manager shows for ``entry``: its name, XML-safe; the home folder
    (the tree's root, which has no name) shows the account's name."""
    return xml_text(entry.name) if entry.parent_id is not None else username
