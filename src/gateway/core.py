"""The core, built once per process and handed to every front."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.accounts import Accounts
from gateway.apikeys import ApiKeys
from gateway.auth import Authenticator
from gateway.clock import Clock, system_clock
from gateway.config import Config, ConfigError
from gateway.counters import Counters
from gateway.davstate import DavLocks, DavProperties
from gateway.db import Database
from gateway.errors import LockrError
from gateway.files import Files
from gateway.folders import Folders
from gateway.migrate import upgrade
from gateway.multipart import MultipartUploads
from gateway.objectstore import ObjectStore
from gateway.passwords import Gate, Passwords
from gateway.private import private_folder
from gateway.quota import EntryLimits, HolderCap, Reservations
from gateway.ratelimit import BurstLimiter
from gateway.recovery import Recovery
from gateway.regions import open_object_store
from gateway.s3keys import S3Keys
from gateway.secret import server_secret
from gateway.sessions import UploadSessions
from gateway.shares import Shares
from gateway.storage import Storage
from gateway.threads import WorkerThreads


@dataclass
class Core:
    config: Config
    clock: Clock
    secret: bytes = field(repr=False)
    db: Database
    stores: dict[str, ObjectStore]
    recovery: Recovery
    storage: Storage
    accounts: Accounts
    api_keys: ApiKeys
    s3_keys: S3Keys
    passwords: Passwords
    counters: Counters
    auth: Authenticator
    files: Files
    folders: Folders
    sessions: UploadSessions
    shares: Shares
    multipart: MultipartUploads
    limiter: BurstLimiter
    s3_limiter: BurstLimiter
    dav_locks: DavLocks
    dav_properties: DavProperties
    threads: WorkerThreads
    """The worker threads the fronts hand their blocking work to (one pool per
    process, :mod:`gateway.threads`)."""

    def check_stores(self) -> None:
        """Check that every region's store can be used; a :class:`ConfigError` naming
        the region says why not."""
        for name, store in self.stores.items():
            try:
                store.check()
            except LockrError as error:
                raise ConfigError(f"[regions.{name}]: {error.message}") from None

    def start(self) -> None:
        """Check the stores (:meth:`check_stores`), register this process, recover
        after any crash, start the heartbeat."""
        self.check_stores()
        self.recovery.start()

    def close(self) -> None:
        """Stop after :meth:`start`, once the fronts have stopped: let the jobs still
        in the worker threads finish, finish the multipart uploads' background work,
        unregister this process, then :meth:`dispose`."""
        self.threads.close()
        self.multipart.close()
        self.recovery.stop()
        self.dispose()

    def dispose(self) -> None:
        """Stop the worker threads, close the database's connections and the stores'
        clients (a core that was never started needs only this)."""
        self.threads.close()
        self.db.dispose()
        for store in self.stores.values():
            store.close()


def build_core(config: Config, *, clock: Clock = system_clock, migrate: bool = True) -> Core:
    """Build every core service over ``config``; runs migrations unless told not to.
    The data folder is made (or narrowed to) owner-only first (:mod:`gateway.private`).
    Call :meth:`Core.start` before serving (fronts never need more)."""
    private_folder(config.data, tighten=True)
    stores = {name: open_object_store(region) for name, region in config.regions.items()}
    secret = server_secret(config)
    db = Database(config.database_url)
    if migrate:
        upgrade(db)
    recovery = Recovery(
        db, stores, clock, node_folder=config.data, lease=config.instance_lease_seconds
    )
    reservations = Reservations(
        db,
        recovery.instance_id,
        clock,
        holder_cap=HolderCap(config.guest_uploads_per_address, config.guest_bytes_per_address),
    )
    storage = Storage(
        db,
        stores,
        reservations,
        clock,
        EntryLimits(config.max_entries_per_account, config.max_guest_entries),
        redirecting=frozenset(
            name for name, region in config.regions.items() if region.redirect_downloads
        ),
    )
    passwords = Passwords(
        time_cost=config.argon2_time_cost,
        memory_cost=config.argon2_memory_cost,
        parallelism=config.argon2_parallelism,
        gate=Gate(
            slots=config.argon2_max_concurrent,
            queue=config.argon2_queue,
            wait=config.argon2_wait_seconds,
        ),
    )
    counters = Counters(db, clock)
    accounts = Accounts(db, storage, passwords, counters, config, clock)
    auth = Authenticator(accounts, counters, config, secret, clock)
    sessions = UploadSessions(
        db, storage, reservations, clock, ttl_seconds=config.upload_session_hours * 3600
    )
    multipart = MultipartUploads(
        db,
        storage,
        clock,
        lifetime_seconds=config.multipart_upload_days * 86400,
        max_object_size=config.max_object_size,
    )
    # S3 deletes a bucket with its unfinished uploads, whichever front deletes it (or
    # moves it away, or replaces it).
    storage.subtrees.after_bucket.append(multipart.abort_under)
    recovery.tasks.append(sessions.expire)
    recovery.tasks.append(storage.subtrees.recover)
    limiter = BurstLimiter(
        counters,
        window=config.rate_limit_window,
        per_account=config.rate_limit_per_account,
        per_address=config.rate_limit_per_address,
    )
    s3_limiter = BurstLimiter(
        counters,
        window=config.rate_limit_window,
        per_account=config.s3_rate_limit_per_account,
        per_address=config.s3_rate_limit_per_address,
        name="s3",
    )
    return Core(
        config=config,
        clock=clock,
        secret=secret,
        db=db,
        stores=stores,
        recovery=recovery,
        storage=storage,
        accounts=accounts,
        api_keys=ApiKeys(db, accounts, clock),
        s3_keys=S3Keys(db, secret, clock),
        passwords=passwords,
        counters=counters,
        auth=auth,
        files=Files(db, storage, counters, secret, clock),
        folders=Folders(db, storage),
        sessions=sessions,
        shares=Shares(db, storage, passwords, counters, clock, config),
        multipart=multipart,
        limiter=limiter,
        s3_limiter=s3_limiter,
        dav_locks=DavLocks(db, clock),
        dav_properties=DavProperties(db),
        threads=WorkerThreads(),
    )
