"""The sample service of one cell: orders, invoices and profiles in the cell's own SQLite file.

Run as `python -m localregion.service --cell NAME --port PORT --database PATH`. It binds
127.0.0.1 only and adds `x-cell: NAME` to every response, so a caller can see which cell
served it. The user is the `x-user-id` request header; authorization is the sidecar's job.

Routes:
    GET    /healthz, /readyz           liveness and readiness (the database responds)
    GET    /v1/orders                  the user's orders
    POST   /v1/orders                  create an order and its invoice: {"item", "quantity"}
    GET    /v1/orders/{id}             one of the user's orders
    DELETE /v1/orders/{id}             delete one of the user's orders and its invoice
    GET    /v1/invoices                the user's invoices, or all without x-user-id
    GET    /v1/profiles/{user}         a profile
    PUT    /v1/profiles/{user}         create or replace a profile: {"display_name", "email"}

The database file records the cell that created it, and the service rejects the
file of another cell, so no two cells share a database.
"""

import argparse
import logging
import sqlite3
import sys
from pathlib import Path

from aiohttp import web

log = logging.getLogger("localregion.service")

SCHEMA = """
CREATE TABLE IF NOT EXISTS owner (
    cell TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    item TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS profiles (
    user_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    email TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"""
UNIT_PRICE_CENTS = 1250
MAX_QUANTITY = 1000
CELL_KEY = web.AppKey("cell", str)
DATABASE_KEY = web.AppKey("database", sqlite3.Connection)


class DatabaseError(Exception):
    """The cell's database cannot be opened or belongs to another cell."""


def open_database(path: Path, cell: str) -> sqlite3.Connection:
    """Open or create the cell's database; raise DatabaseError if another cell owns it."""
    try:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.executescript(SCHEMA)
        owners = [row["cell"] for row in connection.execute("SELECT cell FROM owner")]
        if not owners:
            connection.execute("INSERT INTO owner (cell) VALUES (?)", (cell,))
    except sqlite3.Error as failure:
        raise DatabaseError(f"cannot open database {path}: {failure}") from None
    if owners and owners != [cell]:
        connection.close()
        raise DatabaseError(
            f"database {path} belongs to cell {owners[0]}, not {cell}; "
            "every cell needs its own database file"
        )
    return connection


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def user_of(request: web.Request) -> str | None:
    return request.headers.get("x-user-id") or None


async def healthz(request: web.Request) -> web.Response:
    request.app[DATABASE_KEY].execute("SELECT 1")
    return web.json_response({"status": "ok", "cell": request.app[CELL_KEY]})


async def readyz(request: web.Request) -> web.Response:
    """Report ready once the schema exists, so a probe fails on an unusable database file."""
    tables = {
        row["name"]
        for row in request.app[DATABASE_KEY].execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    missing = sorted({"orders", "invoices", "profiles"} - tables)
    if missing:
        return error(503, f"database is missing tables {missing}")
    return web.json_response({"status": "ready", "cell": request.app[CELL_KEY]})


async def list_orders(request: web.Request) -> web.Response:
    user = user_of(request)
    if user is None:
        return error(400, "missing header x-user-id")
    rows = request.app[DATABASE_KEY].execute(
        "SELECT id, item, quantity, created_at FROM orders WHERE user_id = ? ORDER BY id",
        (user,),
    )
    return web.json_response({"orders": [dict(row) for row in rows]})


async def create_order(request: web.Request) -> web.Response:
    user = user_of(request)
    if user is None:
        return error(400, "missing header x-user-id")
    try:
        body = await request.json()
    except ValueError:
        return error(400, 'invalid JSON body; expected {"item": str, "quantity": int}')
    item = body.get("item") if isinstance(body, dict) else None
    quantity = body.get("quantity") if isinstance(body, dict) else None
    if not isinstance(item, str) or not item:
        return error(400, f"invalid item {item!r}; expected a non-empty string")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        return error(400, f"invalid quantity {quantity!r}; expected an integer")
    if not 1 <= quantity <= MAX_QUANTITY:
        return error(400, f"invalid quantity {quantity}; expected 1 to {MAX_QUANTITY}")
    database = request.app[DATABASE_KEY]
    database.execute("BEGIN")
    try:
        order_id = database.execute(
            "INSERT INTO orders (user_id, item, quantity, unit_price_cents) VALUES (?, ?, ?, ?)",
            (user, item, quantity, UNIT_PRICE_CENTS),
        ).lastrowid
        database.execute(
            "INSERT INTO invoices (order_id, user_id, amount_cents) VALUES (?, ?, ?)",
            (order_id, user, quantity * UNIT_PRICE_CENTS),
        )
    except sqlite3.Error:
        database.execute("ROLLBACK")
        raise
    database.execute("COMMIT")
    return web.json_response(
        {"id": order_id, "item": item, "quantity": quantity},
        status=201,
        headers={"location": f"/v1/orders/{order_id}"},
    )


async def get_order(request: web.Request) -> web.Response:
    user = user_of(request)
    if user is None:
        return error(400, "missing header x-user-id")
    order_id = int(request.match_info["order_id"])
    row = (
        request.app[DATABASE_KEY]
        .execute(
            "SELECT id, item, quantity, created_at FROM orders WHERE id = ? AND user_id = ?",
            (order_id, user),
        )
        .fetchone()
    )
    if row is None:
        return error(404, f"order {order_id} of user {user} not found")
    return web.json_response(dict(row))


async def delete_order(request: web.Request) -> web.Response:
    user = user_of(request)
    if user is None:
        return error(400, "missing header x-user-id")
    order_id = int(request.match_info["order_id"])
    # The order's invoice goes with it (ON DELETE CASCADE).
    deleted = (
        request.app[DATABASE_KEY]
        .execute("DELETE FROM orders WHERE id = ? AND user_id = ?", (order_id, user))
        .rowcount
    )
    if not deleted:
        return error(404, f"order {order_id} of user {user} not found")
    return web.Response(status=204)


async def list_invoices(request: web.Request) -> web.Response:
    user = user_of(request)
    query = "SELECT id, order_id, user_id, amount_cents FROM invoices"
    rows = request.app[DATABASE_KEY].execute(
        query + (" WHERE user_id = ? ORDER BY id" if user else " ORDER BY id"),
        (user,) if user else (),
    )
    return web.json_response({"invoices": [dict(row) for row in rows]})


async def get_profile(request: web.Request) -> web.Response:
    user = request.match_info["user"]
    row = (
        request.app[DATABASE_KEY]
        .execute(
            "SELECT user_id, display_name, email, updated_at FROM profiles WHERE user_id = ?",
            (user,),
        )
        .fetchone()
    )
    if row is None:
        return error(404, f"profile {user} not found")
    return web.json_response(dict(row))


async def put_profile(request: web.Request) -> web.Response:
    user = request.match_info["user"]
    try:
        body = await request.json()
    except ValueError:
        return error(400, 'invalid JSON body; expected {"display_name": str, "email": str}')
    fields = {
        key: body.get(key) if isinstance(body, dict) else None for key in ("display_name", "email")
    }
    for key, value in fields.items():
        if not isinstance(value, str) or not value:
            return error(400, f"invalid {key} {value!r}; expected a non-empty string")
    request.app[DATABASE_KEY].execute(
        "INSERT INTO profiles (user_id, display_name, email) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET display_name = excluded.display_name, "
        "email = excluded.email, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (user, fields["display_name"], fields["email"]),
    )
    return await get_profile(request)


@web.middleware
async def cell_header(request: web.Request, handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exception:
        response = exception
    response.headers["x-cell"] = request.app[CELL_KEY]
    return response


def build_app(cell: str, database: sqlite3.Connection) -> web.Application:
    app = web.Application(middlewares=[cell_header])
    app[CELL_KEY] = cell
    app[DATABASE_KEY] = database
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/v1/orders", list_orders)
    app.router.add_post("/v1/orders", create_order)
    app.router.add_get(r"/v1/orders/{order_id:\d+}", get_order)
    app.router.add_delete(r"/v1/orders/{order_id:\d+}", delete_order)
    app.router.add_get("/v1/invoices", list_invoices)
    app.router.add_get("/v1/profiles/{user}", get_profile)
    app.router.add_put("/v1/profiles/{user}", put_profile)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localregion.service", description=__doc__)
    parser.add_argument("--cell", required=True, help="cell name, sent back in x-cell")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--database", type=Path, required=True, help="SQLite file of this cell")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        database = open_database(args.database, args.cell)
    except DatabaseError as failure:
        print(f"{parser.prog}: error: {failure}", file=sys.stderr)
        return 2
    log.info(
        "cell %s serving on 127.0.0.1:%d with database %s", args.cell, args.port, args.database
    )
    web.run_app(
        build_app(args.cell, database),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        handle_signals=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
