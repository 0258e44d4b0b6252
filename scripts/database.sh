#!/usr/bin/env bash
# Provision the embedded PostgreSQL + PostGIS (when DATABASE_URL is not given) and print its URL.
#   scripts/database.sh [--fresh] [DBNAME]  -> prints postgresql://amanat:amanat@127.0.0.1:PORT/DBNAME
# --fresh drops DBNAME first (make test: every run starts from an empty database).
# Installs Debian's PostgreSQL + PostGIS packages when missing, creates and starts a cluster,
# the role 'amanat', a template database with the extensions, and DBNAME from that template.
# Works as root or as a user with sudo. All messages go to stderr; stdout is only the URL.
set -euo pipefail
fresh=""
if [ "${1:-}" = --fresh ]; then fresh=1; shift; fi
db=${1:-amanat}
role=amanat
password=${AMANAT_DB_PASSWORD:-amanat}

log() { echo "amanat: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@" || sudo "$@"; fi; }
as_postgres() {
  # from / : the postgres user may not be allowed into the current directory
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else (cd / && { sudo -n -u postgres "$@" 2>/dev/null || sudo -u postgres "$@"; }); fi
}
apt_install() {
  log "installing $* (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || {
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
  }
}
server_version() { ls -1 /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -1; }

ver=$(server_version || true)
if [ -z "$ver" ] || [ ! -x "/usr/lib/postgresql/$ver/bin/postgres" ]; then
  apt_install postgresql postgresql-contrib
  ver=$(server_version)
fi
if [ ! -f "/usr/share/postgresql/$ver/extension/postgis.control" ]; then
  apt_install "postgresql-$ver-postgis-3"
fi
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1==v && $2=="main"' | grep -q .; then
  log "creating PostgreSQL $ver cluster 'main'"
  as_root pg_createcluster "$ver" main >&2
fi
line=$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main"')
port=$(echo "$line" | awk '{print $3}')
if ! echo "$line" | grep -q online; then
  log "starting PostgreSQL $ver/main on port $port"
  as_root pg_ctlcluster "$ver" main start >&2
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.5; done
fi

psql_su() { as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_su -c "select 1 from pg_roles where rolname='$role'")" != 1 ]; then
  log "creating role $role"
  psql_su -c "create role $role login createdb password '$password'"
fi
template=amanat_template
if [ "$(psql_su -c "select 1 from pg_database where datname='$template'")" != 1 ]; then
  log "creating template database $template (postgis, pg_trgm)"
  psql_su -c "create database $template owner $role"
  psql_su -d "$template" -c "create extension if not exists postgis; create extension if not exists pg_trgm;"
  psql_su -c "update pg_database set datistemplate = true where datname = '$template'"
fi
if [ -n "$fresh" ]; then
  psql_su -c "drop database if exists \"$db\" with (force)"
fi
if [ "$(psql_su -c "select 1 from pg_database where datname='$db'")" != 1 ]; then
  log "creating database $db"
  psql_su -c "create database \"$db\" owner $role template $template"
fi
url="postgresql://$role:$password@127.0.0.1:$port/$db"
log "database: $url"
echo "$url"
