#!/usr/bin/env bash
# Starts the local PostgreSQL cluster (Debian's) if it is not running, makes sure the test role
# exists, and prints its URL. The role may create databases: each test gets its own.
set -euo pipefail
ver=$(ls /etc/postgresql | sort -V | tail -n 1)
if ! pg_ctlcluster "$ver" main status >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2
fi
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q -h 127.0.0.1" && break
  sleep 0.5
done
if ! su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'anomalyforge'\"" | grep -q 1; then
  su postgres -c "psql -q -c \"CREATE ROLE anomalyforge LOGIN CREATEDB PASSWORD 'anomalyforge'\"" >&2
fi
echo "postgres://anomalyforge:anomalyforge@127.0.0.1:5432/postgres"
