"""The metadata schema (SQLAlchemy 2 declarative). Alembic migrations mirror it.

Times are float seconds since the epoch (UTC) so that the client-given modification
time keeps its sub-second part on every database.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(63), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    plan: Mapped[str] = mapped_column(String(16), default="free")
    quota_bytes: Mapped[int] = mapped_column(BigInteger)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    default_region: Mapped[str] = mapped_column(String(63))
    root_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)


class Token(Base):
    """A login token: only its SHA-256 is stored; ``prefix`` helps people tell them apart."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index(None, "account_id"),)


class Blob(Base):
    """Immutable bytes in a region, shared by every node that references them."""

    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    sha1: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    refcount: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    multipart_etag: Mapped[str | None] = mapped_column(String(48), nullable=True)
    """For bytes a client sent as the parts of a multipart upload, the S3 ETag they
    have there: the MD5 of the parts' binary MD5s, ``-`` and the number of parts."""
    part_sizes: Mapped[str | None] = mapped_column(Text, nullable=True)
    """For those bytes, the sizes of the parts in turn, as runs ``size*count`` joined
    by commas (:func:`gateway.multipart_terms.encode_sizes`)."""
    part_checksums: Mapped[str | None] = mapped_column(Text, nullable=True)
    """For those bytes, when every part had a checksum (of the upload's algorithm),
    the parts' checksums in turn (:mod:`gateway.partchecksums`)."""

    __table_args__ = (Index(None, "refcount"),)


KEY_INDEX_CHARS = 600
"""Keys are indexed by their first this many characters (at most 2,400 bytes of UTF-8:
a PostgreSQL index entry holds about 2,700); lookups and ranges use the same prefix."""
KEY_PREFIX_SQL = f"substr(key, 1, {KEY_INDEX_CHARS})"
KEY_TYPE = String(4096).with_variant(String(4096, collation="C"), "postgresql")
"""Keys compare byte by byte, as S3 orders keys (SQLite's default; PostgreSQL's "C")."""


class Node(Base):
    """A folder or file in an account's tree. The root has no parent and no name."""

    __tablename__ = "nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(255))
    is_dir: Mapped[bool] = mapped_column(Boolean)
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str] = mapped_column(String(255), default="")
    mtime: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    key_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claim_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key: Mapped[str] = mapped_column(KEY_TYPE, server_default="/")
    """The entry's full key in its account, as S3 names objects: ``docs/a.txt`` for a
    file, ``docs/`` for a folder, ``""`` for the root; a key starting with ``/`` is
    outside the namespace (a detached tree: a large delete or copy in progress), as
    is a row written without one (the default)."""
    meta: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    """What the writer of the file's content said about it beyond its type, names to
    values (the S3 front keeps user metadata and headers such as Cache-Control here),
    and the file's checksum (every write computes one: :mod:`gateway.filechecksum`).
    It follows the file through a move or copy; writing new content replaces it."""

    __table_args__ = (
        UniqueConstraint("parent_id", "name"),
        Index(None, "account_id", "created_at"),
        Index(None, "account_id", "is_dir", "id"),
        Index(None, "blob_id"),
        Index("ix_nodes_account_key", "account_id", text(KEY_PREFIX_SQL)),
        Index("ix_nodes_parent_key", "parent_id", text(KEY_PREFIX_SQL)),
    )


class DetachedTree(Base):
    """A subtree outside every account's namespace, which one server instance is
    building (a large copy, attached in one step when complete) or removing (a large
    delete, in batches). The account holds the quota of the tree's rows, and for a
    copy also ``entries`` and ``bytes`` charged for rows not made yet. When the
    instance dies, recovery discards the copy or finishes the delete."""

    __tablename__ = "detached_trees"

    node_id: Mapped[int] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(8))
    instance_id: Mapped[str] = mapped_column(String(32))
    entries: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[float] = mapped_column(Float)


class Reservation(Base):
    """Quota held by one write in progress, owned by one server instance.

    A write reserves bytes before it stores them; committing turns the reservation
    into used bytes. A reservation whose instance died is reclaimed, with its temp
    object, so a crash leaks neither quota nor disk."""

    __tablename__ = "reservations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    instance_id: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(63))
    blob_key: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    holder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """For a guest's write, a hash of the client address whose writes are capped."""
    multipart_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    """For a write of several parts, the store's id of its multipart upload."""

    __table_args__ = (Index(None, "instance_id"), Index(None, "account_id"), Index(None, "holder"))


class UploadPart(Base):
    """One stored part of a write made of parts (a resumable upload, a client's
    multipart upload): its place in the object (``offset``; 0 for a client's part,
    whose place is known only once the upload completes), size, the store's token for
    it (``etag``) and, when the writer needed them (an S3 part's ETag and date), its
    MD5 and when it was stored."""

    __tablename__ = "upload_parts"

    reservation_id: Mapped[str] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str | None] = mapped_column(String(32), nullable=True)
    etag: Mapped[str] = mapped_column(String(1024))
    stored_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """For a part of a client's upload that has a checksum algorithm, the part's
    checksum of it (base64, as S3 writes it)."""


class MultipartUpload(Base):
    """A client's multipart upload of one file (S3's CreateMultipartUpload): where the
    file goes (``path`` in the account's tree) and what it will say, and the
    reservation that holds its parts. The reservation names the store's upload
    (``multipart_id``), its parts are the reservation's ``upload_parts``, and its
    expiry is the upload's lifetime: releasing it removes this row too.

    ``busy_until`` keeps a completion or an abort to one request at a time;
    ``assembled`` is the ETag of the part list a completion assembled in the store
    and then could not commit (only that list can complete the upload now)."""

    __tablename__ = "multipart_uploads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(KEY_TYPE)
    content_type: Mapped[str] = mapped_column(String(255))
    mtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    meta: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Metadata to store with the file, as a JSON object of strings."""
    reservation_id: Mapped[str] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[float] = mapped_column(Float)
    busy_until: Mapped[float] = mapped_column(Float, default=0.0)
    assembled: Mapped[str | None] = mapped_column(String(48), nullable=True)
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """S3's checksum algorithm of the upload (``CRC32`` …), when it was given one."""
    checksum_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """``COMPOSITE`` or ``FULL_OBJECT``: how the object's checksum comes from its parts'."""

    __table_args__ = (Index(None, "account_id"),)


class CompletedUpload(Base):
    """A multipart upload completed lately, kept so that a client that lost the answer
    and sends the same CompleteMultipartUpload again is answered as the first time
    (S3 does so): the part list it was completed with (``parts_digest``, see
    :func:`gateway.multipart_terms.part_list_digest`), what was answered (``etag``,
    and the object's checksum header and type as a JSON object in ``checksum``), and
    the file it made (``node_id`` with ``blob_key``: the retry is answered only while
    the file at ``path`` is still that one). Written in the commit's own transaction;
    rows past :data:`gateway.multipart_terms.COMPLETED_KEPT_SECONDS` are deleted as
    new ones come."""

    __tablename__ = "completed_uploads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(KEY_TYPE)
    parts_digest: Mapped[str] = mapped_column(String(64))
    etag: Mapped[str] = mapped_column(String(48))
    checksum: Mapped[str | None] = mapped_column(Text, nullable=True)
    node_id: Mapped[int] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index(None, "account_id"), Index(None, "completed_at"))


class UploadSession(Base):
    """A resumable upload: its bytes so far are the parts of its reservation and its
    tail object, durably up to ``received``; its quota is reserved in full when it is
    created, with a reservation that outlives restarts until ``expires_at``."""

    __tablename__ = "upload_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(4096))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    region: Mapped[str] = mapped_column(String(63))
    blob_key: Mapped[str] = mapped_column(String(64))
    reservation_id: Mapped[str] = mapped_column(String(32))
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    key_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claim_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    busy_until: Mapped[float] = mapped_column(Float, default=0.0)
    file_uid: Mapped[str] = mapped_column(String(32))
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index(None, "expires_at"),)


class DavLock(Base):
    """A WebDAV lock, shared by every server process. ``root`` is the locked URL
    (percent-encoded, so longer than any index may hold on PostgreSQL); locks are
    found through ``home``, the account's first path component."""

    __tablename__ = "dav_locks"

    token: Mapped[str] = mapped_column(String(100), primary_key=True)
    root: Mapped[str] = mapped_column(Text)
    home: Mapped[str] = mapped_column(String(63))
    data: Mapped[str] = mapped_column(Text)
    expire: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index(None, "home"),)


class DavProperty(Base):
    """A WebDAV dead property (set by PROPPATCH) of the resource at ``url``, keyed by
    the SHA-256 of the URL (URLs are longer than an index may hold on PostgreSQL)."""

    __tablename__ = "dav_properties"

    url_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(1024), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    home: Mapped[str] = mapped_column(String(63))
    value: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index(None, "home"),)


class Instance(Base):
    """A running server process; its heartbeat keeps its reservations alive."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node: Mapped[str] = mapped_column(String(64))
    """The node (data folder) the instance runs on; see :mod:`gateway.recovery`."""
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)


class Lease(Base):
    """Work one node at a time does (see :mod:`gateway.leases`)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[float] = mapped_column(Float)


class Counter(Base):
    """A fixed-window counter (rate limits, throttles), shared by every process."""

    __tablename__ = "counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)


class ApiKey(Base):
    """A links API key: only its SHA-256 is stored, with a prefix people can recognise.
    An account has at most one active key (``revoked_at`` is null)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        Index(
            "ix_api_keys_one_active",
            "account_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )


class S3Key(Base):
    """An S3 access key. SigV4 needs the secret itself, so it is stored sealed: the
    nonce and the AES-GCM ciphertext under a key derived from the server secret, with
    the access key id as associated data (see :mod:`gateway.s3keys`)."""

    __tablename__ = "s3_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    access_key_id: Mapped[str] = mapped_column(String(20), unique=True)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index(None, "account_id"),)


class Link(Base):
    """A password-protected link. The target URL or secret memo is stored only as
    AES-GCM ciphertext under a key derived from the link's password; the password
    only as an argon2id hash."""

    __tablename__ = "links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(30), unique=True)
    type: Mapped[str] = mapped_column(String(8))
    memo: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    redirect_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    access_count: Mapped[int] = mapped_column(Integer, default=0)
    start_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    expire_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index(None, "account_id", "created_at"),)


class Share(Base):
    """A link that lets anyone who has it download one file, until it expires or has
    been used ``max_downloads`` times, and with a password if one is set. Only the
    SHA-256 of its token (the secret in its URL) is stored, and of its password only
    an argon2id hash."""

    __tablename__ = "shares"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_downloads: Mapped[int | None] = mapped_column(Integer, nullable=True)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)

    __table_args__ = (Index(None, "node_id"), Index(None, "account_id"))
