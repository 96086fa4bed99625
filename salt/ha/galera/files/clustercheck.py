#!/usr/bin/python3
# Managed by Salt (ha formula). Galera health endpoint: an HTTP server on the
# listening socket that systemd passes (ha-clustercheck.socket, Accept=no);
# every request checks the local node anew. 200 when it is Synced (or a
# donor, or read-only, if allowed in the [clustercheck] section of the config
# file), 503 otherwise, including when MariaDB is down. One long-running
# process: HAProxy checks every controller from every controller every 2 s,
# and a Python process per check kept a core of a small machine busy.
# Usage: ha-clustercheck CONFIG
import configparser
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql

SYNCED, DONOR = 4, 2
# The first file descriptor that systemd passes (sd_listen_fds).
LISTEN_FDS_START = 3


def check(config: configparser.ConfigParser) -> tuple[bool, str]:
    try:
        connection = pymysql.connect(
            unix_socket=config["client"]["socket"],
            user=config["client"]["user"],
            password=config["client"]["password"],
            connect_timeout=2,
            read_timeout=2,
        )
    except Exception as exc:  # any failure to reach the server means unavailable
        return False, f"MariaDB is not reachable: {exc.__class__.__name__}"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', 'wsrep_cluster_status')")
            status = dict(cursor.fetchall())
            cursor.execute("SHOW GLOBAL VARIABLES LIKE 'read_only'")
            read_only = dict(cursor.fetchall()).get("read_only") == "ON"
    finally:
        connection.close()
    options = config["clustercheck"]
    state = int(status.get("wsrep_local_state") or 0)
    if status.get("wsrep_cluster_status") != "Primary":
        return False, "Galera node is not in a Primary component"
    if read_only and not options.getboolean("available_when_readonly"):
        return False, "Galera node is read-only"
    if state == SYNCED or (state == DONOR and options.getboolean("available_when_donor")):
        return True, "Galera node is synced"
    return False, f"Galera node is not synced (wsrep_local_state {state})"


class Handler(BaseHTTPRequestHandler):
    # A plain TCP check sends no request: do not wait long for one.
    timeout = 2
    config: configparser.ConfigParser

    def answer(self, with_body: bool) -> None:
        ok, message = check(self.config)
        body = (message + "\r\n").encode()
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            # HAProxy resets a check's connection once it has read the status
            # line: not an error, and a traceback per check (several a second
            # on every node) would flood the journal.
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's handler names
        self.answer(True)

    do_OPTIONS = do_GET

    def do_HEAD(self) -> None:  # noqa: N802
        self.answer(False)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        # A line per check (every 2 s from every HAProxy) would flood the journal.
        pass


def main() -> None:
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or os.environ.get("LISTEN_FDS") != "1":
        sys.exit("ha-clustercheck: start it through its socket unit (systemd passes the listening socket)")
    config = configparser.ConfigParser(interpolation=None)
    if not config.read(sys.argv[1]):
        sys.exit(f"ha-clustercheck: cannot read {sys.argv[1]}")
    Handler.config = config
    listener = socket.socket(fileno=LISTEN_FDS_START)
    server = ThreadingHTTPServer(listener.getsockname()[:2], Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
