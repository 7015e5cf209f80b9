#!/bin/sh
set -eu
password=$(sed -n 's/^REDIS_PASSWORD=//p' /run/secrets/churn.env 2>/dev/null | tail -1)
if [ -z "$password" ]; then
  echo "redis: no REDIS_PASSWORD in /run/secrets/churn.env (make up writes it from deploy/.env)" >&2
  exit 2
fi
umask 077
cat > /tmp/redis.conf <<CONF
bind 0.0.0.0
protected-mode no
dir /data
appendonly yes
requirepass $password
CONF
unset password
exec redis-server /tmp/redis.conf
