#!/usr/bin/env bash
# Make sure Redis and Mosquitto answer: start them if installed, install them (apt-get, as root)
# if absent, else stop with a clear message. Used by `make run` and `make test`.
set -euo pipefail

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {
  local host=$1 port=$2
  for _ in $(seq 1 50); do reachable "$host" "$port" && return 0; sleep 0.1; done
  return 1
}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing $* with apt-get"
    if [ -z "${MLP_APT_UPDATED:-}" ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      export MLP_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    return 0
  fi
  return 1
}

give_up() {
  echo "!! $1 is not reachable on $2 and could not be installed or started here." >&2
  echo "!! Start it yourself, or run the dependencies with: docker compose up -d redis mosquitto" >&2
  exit 1
}

ensure_redis() {
  local host=127.0.0.1 port=6379
  reachable $host $port && return 0
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server || give_up Redis "$host:$port"
  echo "==> starting redis-server"
  mkdir -p /tmp/mlplatform-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port $port --save "" --appendonly no \
    --dir /tmp/mlplatform-redis --logfile /tmp/mlplatform-redis/redis.log
  wait_for $host $port || give_up Redis "$host:$port"
}

ensure_mosquitto() {
  local host=127.0.0.1 port=1883
  reachable $host $port && return 0
  command -v mosquitto >/dev/null 2>&1 || apt_install mosquitto mosquitto-clients \
    || give_up Mosquitto "$host:$port"
  echo "==> starting mosquitto"
  mosquitto -d -c "$(dirname "$0")/../deploy/mosquitto/mosquitto-dev.conf"
  wait_for $host $port || give_up Mosquitto "$host:$port"
}

ensure_redis
ensure_mosquitto
echo "==> Redis and Mosquitto are reachable"
