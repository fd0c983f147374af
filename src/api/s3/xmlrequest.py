"""Reading the XML documents clients send (CompleteMultipartUpload's part list), safely.

A document is parsed by expat into a small tree of :class:`XmlNode` (tag names without
their namespace, text, children). A document type declaration is refused outright, so
no entity is ever defined or expanded (no "billion laughs", no external entities);
the caller bounds the document's size before it gets here. Anything that is not
well-formed is ``MalformedXML``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat

from api.s3.errors import MalformedXML


@dataclass
class XmlNode:
    tag: str
    text: str = ""
    children: list[XmlNode] = field(default_factory=list)

    def find_all(self, tag: str) -> list[XmlNode]:
        """The children named ``tag``."""
        return [child for child in self.children if child.tag == tag]

    def child_text(self, tag: str) -> str | None:
        """The text of the first child named ``tag``, stripped; ``None`` without one."""
        for child in self.children:
            if child.tag == tag:
                return child.text.strip()
        return None


class _Refused(Exception):
    pass


def _refuse(*_: object) -> int:
    raise _Refused


def parse_xml(data: bytes) -> XmlNode:
    """The document's root element, or ``MalformedXML``."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[XmlNode] = []
    roots: list[XmlNode] = []

    def start(name: str, _attributes: object) -> None:
        node = XmlNode(name.rpartition(" ")[2])
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, _Refused, ValueError):
        raise MalformedXML() from None
    if len(roots) != 1:
        raise MalformedXML()
    return roots[0]
