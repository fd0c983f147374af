"""The ``lockr`` command: ``serve``, ``user``, ``token``, ``s3-key``, ``rclone-config``,
``migrate``.

Every subcommand takes ``--data DIR`` and ``--config FILE``; settings resolve as
flags > ``LOCKR_*`` environment > TOML file > defaults (see :mod:`gateway.config`).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from gateway import rclone
from gateway.config import Config, ConfigError, load_config, parse_size
from gateway.core import Core, build_core
from gateway.errors import LockrError
from gateway.migrate import schema_revision
from gateway.timefmt import iso


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", help="data folder (default ./lockr-data)")
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lockr", description="Self-hosted storage: JSON API, WebDAV, links."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    _common(serve)
    serve.add_argument("--http", metavar="HOST:PORT", help="HTTP listener (127.0.0.1:8080)")
    serve.add_argument("--dav", metavar="HOST:PORT", help="WebDAV listener (127.0.0.1:8081)")
    serve.add_argument("--s3", metavar="HOST:PORT", help="S3 listener (127.0.0.1:8082)")
    serve.add_argument("--workers", metavar="N", help="server processes sharing the listeners (1)")

    user = commands.add_parser("user", help="manage accounts")
    user_commands = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="create an account")
    _common(add)
    add.add_argument("name", help="username: 3-63 of a-z, 0-9, '-'")
    add.add_argument("--email", required=True)
    add.add_argument("--plan", choices=["free", "pro"], default="free")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    set_plan = user_commands.add_parser("set-plan", help="change an account's plan")
    _common(set_plan)
    set_plan.add_argument("name")
    set_plan.add_argument("plan", choices=["free", "pro"])
    set_quota = user_commands.add_parser("set-quota", help="change an account's storage quota")
    _common(set_quota)
    set_quota.add_argument("name")
    set_quota.add_argument("size", help="bytes, or a size such as 500GiB or 2TB")
    set_region = user_commands.add_parser(
        "set-region", help="change the region an account's new files go to"
    )
    _common(set_region)
    set_region.add_argument("name")
    set_region.add_argument("region")
    listing = user_commands.add_parser("list", help="list accounts")
    _common(listing)

    migrate = commands.add_parser(
        "migrate", help="bring the database schema up to date (serve does it too)"
    )
    _common(migrate)

    token = commands.add_parser("token", help="manage login tokens")
    token_commands = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token and print it once")
    _common(create)
    create.add_argument("name", help="the account's username or email")
    create.add_argument("--label", default="cli", help="a name to tell the token apart")

    s3_key = commands.add_parser("s3-key", help="manage S3 access keys")
    s3_key_commands = s3_key.add_subparsers(dest="action", required=True, metavar="ACTION")
    s3_create = s3_key_commands.add_parser(
        "create", help="create an access key and print it with its secret, once"
    )
    _common(s3_create)
    s3_create.add_argument("name", help="the account's username or email")
    s3_create.add_argument("--name", dest="label", default="", help="a name to tell the key apart")
    s3_list = s3_key_commands.add_parser("list", help="list an account's access keys")
    _common(s3_list)
    s3_list.add_argument("name", help="the account's username or email")
    s3_revoke = s3_key_commands.add_parser("revoke", help="revoke an access key at once")
    _common(s3_revoke)
    s3_revoke.add_argument("name", help="the account's username or email")
    s3_revoke.add_argument("id", type=int, help="the key's id (as `s3-key list` shows it)")

    remote = commands.add_parser(
        "rclone-config", help="print an rclone remote for an account (with a new token)"
    )
    _common(remote)
    remote.add_argument("name", help="the account's username or email")
    remote.add_argument("--remote", default="lockr", help="the remote's name (lockr)")
    remote.add_argument(
        "--s3",
        action="store_true",
        help="an S3 remote (type = s3, with a new S3 access key) instead of WebDAV",
    )
    remote.add_argument(
        "--url",
        help="the URL clients use: WebDAV's (default from the dav setting), or with --s3 "
        "the S3 endpoint (default from the s3 and s3_domain settings)",
    )
    return parser


def _config(args: argparse.Namespace) -> Config:
    flags = {"data": args.data}
    if args.command == "serve":
        flags |= {"http": args.http, "dav": args.dav, "s3": args.s3, "workers": args.workers}
    return load_config(file=args.config, flags=flags)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise SystemExit("lockr: the passwords differ")
    return password


def _user_add(core: Core, args: argparse.Namespace) -> None:
    account = core.accounts.create(args.name, args.email, _read_password(args), plan=args.plan)
    print(f"created account {account.username} <{account.email}> on the {account.plan} plan")


def _user_set_plan(core: Core, args: argparse.Namespace) -> None:
    account = core.accounts.set_plan(args.name, args.plan)
    print(f"{account.username} is now on the {account.plan} plan")


def _user_set_quota(core: Core, args: argparse.Namespace) -> None:
    try:
        size = parse_size(args.size)
    except ValueError as error:
        raise ConfigError(f"size: {error}") from None
    account = core.accounts.set_quota(args.name, size)
    print(f"{account.username} may now store {account.quota_bytes} bytes")
    if account.used_bytes > account.quota_bytes:
        print(
            f"{account.username} uses {account.used_bytes} bytes, more than that: "
            "writes that add bytes are refused until it deletes enough"
        )


def _user_set_region(core: Core, args: argparse.Namespace) -> None:
    account = core.accounts.set_region(args.name, args.region)
    print(
        f"{account.username}'s new files go to {account.default_region} "
        "(stored files stay where they are)"
    )


def _migrate(core: Core, _args: argparse.Namespace) -> None:
    print(f"the database schema is at revision {schema_revision(core.db)}")


def _user_list(core: Core, _args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from gateway.models import Account

    with core.db.read() as session:
        for account in session.scalars(select(Account).order_by(Account.username)):
            print(
                f"{account.username}\t{account.email}\t{account.plan}\t"
                f"{account.used_bytes}/{account.quota_bytes} bytes"
            )


def _token_create(core: Core, args: argparse.Namespace) -> None:
    account = core.accounts.find(args.name)
    _info, secret = core.accounts.create_token(account.id, args.label)
    print(secret)


def _new_s3_key(core: Core, account_id: int, label: str) -> str:
    """Create an S3 access key; its ``access_key_id = …`` and ``secret_access_key = …``
    lines (the secret shown this once)."""
    info, secret = core.s3_keys.create(account_id, label)
    print("# the secret is shown only now; keep it somewhere safe", file=sys.stderr)
    return f"access_key_id = {info.access_key_id}\nsecret_access_key = {secret}"


def _s3_key_create(core: Core, args: argparse.Namespace) -> None:
    account = core.accounts.find(args.name)
    print(_new_s3_key(core, account.id, args.label))


def _s3_key_list(core: Core, args: argparse.Namespace) -> None:
    account = core.accounts.find(args.name)
    for key in core.s3_keys.list(account.id):
        used = iso(key.last_used_at) if key.last_used_at is not None else "never used"
        print(f"{key.id}\t{key.access_key_id}\t{key.name}\t{iso(key.created_at)}\t{used}")


def _s3_key_revoke(core: Core, args: argparse.Namespace) -> None:
    account = core.accounts.find(args.name)
    core.s3_keys.revoke(account.id, args.id)
    print(f"revoked S3 access key {args.id} of {account.username}")


def _rclone_config(core: Core, args: argparse.Namespace) -> None:
    account = core.accounts.find(args.name)
    if args.s3:
        endpoint = args.url.rstrip("/") if args.url else rclone.s3_endpoint(core.config)
        info, secret = core.s3_keys.create(account.id, "rclone")
        print("# the secret is shown only now; keep it somewhere safe", file=sys.stderr)
        print(
            rclone.s3_remote(
                args.remote, core.config, endpoint, info.access_key_id, secret,
                account.default_region,
            )
        )  # fmt: skip
        return
    _info, token = core.accounts.create_token(account.id, "rclone")
    url = args.url or rclone.webdav_url(core.config)
    print(rclone.webdav_remote(args.remote, url, token, account.username))


ACTIONS = {
    ("user", "add"): _user_add,
    ("user", "set-plan"): _user_set_plan,
    ("user", "set-quota"): _user_set_quota,
    ("user", "set-region"): _user_set_region,
    ("migrate", None): _migrate,
    ("user", "list"): _user_list,
    ("token", "create"): _token_create,
    ("s3-key", "create"): _s3_key_create,
    ("s3-key", "list"): _s3_key_list,
    ("s3-key", "revoke"): _s3_key_revoke,
    ("rclone-config", None): _rclone_config,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = _config(args)
        if args.command == "serve":
            from gateway.server import serve

            return serve(config)
        core = build_core(config)
        try:
            ACTIONS[(args.command, getattr(args, "action", None))](core, args)
        finally:
            core.db.dispose()
    except LockrError as exc:
        print(f"lockr: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
