#!/usr/bin/env bash
# A private MariaDB for the plugin's tests and benchmarks, sourced by tests/e2e.sh and
# bench/mysql/bench.sh: mariadb-install-db in $WORK/data, mariadbd --no-defaults on a Unix socket
# in $WORK/run and 127.0.0.1:$PORT, plugin_dir $WORK/plugin. Needs WORK, PORT, AS_USER (the OS
# user the server runs as, or empty). Defines SOCK, RUN, MYSQL, start_server, stop_server,
# crash_server (kill -9) and SERVER_PID.
RUN=$WORK/run
SOCK=$RUN/mysqld.sock
MYSQL="mariadb --no-defaults -S $SOCK -u root"
# --- the server --------------------------------------------------------------------------------------
user_opt=(); [ -n "${AS_USER:-}" ] && user_opt=(--user="$AS_USER")
# The server's own files (socket, pid, log) in a directory its OS user owns.
mkdir -p "$RUN"
[ -n "${AS_USER:-}" ] && chown "$AS_USER": "$RUN"
mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$WORK/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$WORK/install-db.log" 2>&1
start_server() {
    mariadbd --no-defaults "${user_opt[@]}" --datadir="$WORK/data" --socket="$SOCK" --port="$PORT" \
        --bind-address=127.0.0.1 --plugin-dir="$WORK/plugin" --pid-file="$RUN/mysqld.pid" \
        --log-error="$RUN/error.log" --local-infile=1 --innodb-buffer-pool-size=64M \
        --innodb-flush-log-at-trx-commit=2 --skip-name-resolve >/dev/null 2>&1 &
    for _ in $(seq 1 100); do
        mariadb-admin --no-defaults -S "$SOCK" -u root ping >/dev/null 2>&1 && break
        sleep 0.2
    done
    mariadb-admin --no-defaults -S "$SOCK" -u root ping >/dev/null
    SERVER_PID=$(cat "$RUN/mysqld.pid")
}
stop_server() { # graceful
    mariadb-admin --no-defaults -S "$SOCK" -u root shutdown >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do [ -e "$SOCK" ] || break; sleep 0.2; done
}
crash_server() { # kill -9: nothing gets to run
    kill -9 "$SERVER_PID"
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    rm -f "$SOCK" "$RUN/mysqld.pid"
}
