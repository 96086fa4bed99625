#!/usr/bin/python3
# Managed by Salt (ha formula). Galera health check, one HTTP exchange per
# connection on stdin/stdout (systemd socket activation, Accept=yes).
# 200 when the local node is Synced (or a donor, or read-only, if allowed in
# the [clustercheck] section of the config file), 503 otherwise, including
# when MariaDB is down. Usage: ha-clustercheck CONFIG
import configparser
import select
import sys

SYNCED, DONOR = 4, 2


def drain_request() -> None:
    # Read the request (HAProxy sends OPTIONS, curl GET) up to the blank
    # line; a plain TCP check sends nothing, so do not wait long.
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < 8192:
        ready, _, _ = select.select([sys.stdin.buffer], [], [], 1)
        if not ready:
            return
        chunk = sys.stdin.buffer.read1(4096)
        if not chunk:
            return
        data += chunk


def check(config: configparser.ConfigParser) -> tuple[bool, str]:
    try:
        import pymysql

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


def main() -> None:
    config = configparser.ConfigParser(interpolation=None)
    config.read(sys.argv[1])
    drain_request()
    ok, message = check(config)
    body = (message + "\r\n").encode()
    head = "HTTP/1.1 200 OK" if ok else "HTTP/1.1 503 Service Unavailable"
    sys.stdout.buffer.write(
        f"{head}\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    )
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
