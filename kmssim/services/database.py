"""A tiny database server for the rotation scenarios: users, passwords and a few rows.

Secrets Manager rotates a database password by changing it in the database (the
rotation function's ``setSecret`` step) and checking that it works (``testSecret``).
`Database` is just enough of a database for that: users whose passwords can be set
and checked, and named rows so that RDS snapshots have data to carry. Passwords are
stored as salted hashes, never as text. Set ``db.available = False`` to take the
server offline (every login then fails, as during an outage).

Where the rows live is a `Storage`: memory for a stand-alone database, an encrypted
volume for an RDS instance (`kmssim.services.rds`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Protocol

__all__ = ["Database", "Connection", "DatabaseError", "DatabaseUnavailable", "Storage",
           "MemoryStorage"]


class DatabaseError(Exception):
    """The database refused: bad credentials, a missing right, or the server is down.

    It is the database's own error (as a driver such as psycopg raises), not an AWS
    error, so it is not a `kmssim.KMSError`.
    """


class DatabaseUnavailable(DatabaseError):
    """The server cannot be reached (``db.available`` is False)."""


class Storage(Protocol):
    """Where a database keeps its pages: ``read``/``write`` bytes by name."""

    def read(self, name: str) -> bytes | None: ...
    def write(self, name: str, data: bytes) -> None: ...
    def names(self) -> list[str]: ...


class MemoryStorage:
    """Pages in a dict, unencrypted."""

    def __init__(self) -> None:
        self._pages: dict[str, bytes] = {}

    def read(self, name: str) -> bytes | None:
        return self._pages.get(name)

    def write(self, name: str, data: bytes) -> None:
        self._pages[name] = bytes(data)

    def names(self) -> list[str]:
        return sorted(self._pages)


def _hash(username: str, password: str) -> bytes:
    return hashlib.sha256(f"kmssim-db\0{username}\0{password}".encode()).digest()


class Database:
    """A database server with users and rows.

    >>> db = Database("orders", users={"app": "first-password"})
    >>> db.connect("app", "first-password").put("order-1", "3 apples")
    >>> db.connect("app", "first-password").get("order-1")
    '3 apples'
    """

    def __init__(self, name: str = "orders", *, engine: str = "postgres",
                 users: Mapping[str, str] | None = None, storage: Storage | None = None,
                 port: int = 5432) -> None:
        self.name = name
        self.engine = engine
        self.port = port
        self.available = True
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        for username, password in (users or {}).items():
            self._set_password(username, password)

    def __repr__(self) -> str:
        state = "available" if self.available else "unavailable"
        return f"<Database {self.name} ({self.engine}), users {self.users()}, {state}>"

    @property
    def host(self) -> str:
        return f"{self.name}.db.internal"

    def users(self) -> list[str]:
        """The names of the users (never their passwords)."""
        return [name[5:] for name in self.storage.names() if name.startswith("user/")]

    def secret_string(self, username: str, password: str) -> str:
        """The JSON Secrets Manager stores for a database login (its standard fields)."""
        return json.dumps({"engine": self.engine, "host": self.host, "port": self.port,
                           "dbname": self.name, "username": username, "password": password})

    # -- logging in ---------------------------------------------------------------
    def _reachable(self) -> None:
        if not self.available:
            raise DatabaseUnavailable(f"could not connect to server {self.host}: the "
                                      "database is unavailable")

    def connect(self, username: str, password: str) -> Connection:
        """Log in; raises DatabaseError if the password is wrong or the server is down."""
        self._reachable()
        stored = self.storage.read(f"user/{username}")
        if stored is None or not hmac.compare_digest(stored, _hash(username, password)):
            raise DatabaseError(f'password authentication failed for user "{username}"')
        return Connection(self, username, admin=False)

    def connect_with(self, secret_string: str) -> Connection:
        """Log in with the credentials in a secret value (the JSON of `secret_string`)."""
        try:
            value = json.loads(secret_string)
            username, password = value["username"], value["password"]
        except (TypeError, ValueError, KeyError):
            raise DatabaseError("the secret value holds no username and password") from None
        return self.connect(username, password)

    def admin(self) -> Connection:
        """A superuser session. In AWS a rotation function for alternating users gets
        one from a separate superuser secret; here the simulation hands it over."""
        self._reachable()
        return Connection(self, "admin", admin=True)

    def _set_password(self, username: str, password: str) -> None:
        if not isinstance(password, str) or not password:
            raise DatabaseError("a password must be a non-empty string")
        self.storage.write(f"user/{username}", _hash(username, password))


class Connection:
    """A logged-in session: change passwords, read and write rows."""

    __slots__ = ("database", "user", "_admin")

    def __init__(self, database: Database, user: str, *, admin: bool) -> None:
        self.database = database
        self.user = user
        self._admin = admin

    def __repr__(self) -> str:
        return f"<Connection {self.user}@{self.database.name}>"

    def set_password(self, new_password: str, *, user: str | None = None) -> None:
        """``ALTER USER``: change your own password, or (superuser) another user's."""
        self.database._reachable()
        target = user or self.user
        if target != self.user and not self._admin:
            raise DatabaseError(f'permission denied to alter role "{target}"')
        if self.database.storage.read(f"user/{target}") is None:
            raise DatabaseError(f'role "{target}" does not exist')
        self.database._set_password(target, new_password)

    def create_user(self, username: str, password: str) -> None:
        """``CREATE USER`` (superuser only); DatabaseError if it exists already."""
        self.database._reachable()
        if not self._admin:
            raise DatabaseError("permission denied to create role")
        if self.database.storage.read(f"user/{username}") is not None:
            raise DatabaseError(f'role "{username}" already exists')
        self.database._set_password(username, password)

    def put(self, name: str, value: str) -> None:
        """Store a row (a string) under ``name``."""
        self.database._reachable()
        self.database.storage.write(f"row/{name}", value.encode())

    def get(self, name: str) -> str | None:
        """The row stored under ``name``, or None."""
        self.database._reachable()
        data = self.database.storage.read(f"row/{name}")
        return None if data is None else data.decode()

    def rows(self) -> dict[str, str]:
        """Every row, by name."""
        self.database._reachable()
        return {name[4:]: (self.database.storage.read(name) or b"").decode()
                for name in self.database.storage.names() if name.startswith("row/")}
