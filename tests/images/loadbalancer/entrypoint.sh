#!/bin/sh
# Test fixture: the load balancer of the deployment rehearsal (tests/AppHost.Tests/Deployment), standing in for what
# a cloud platform puts in front of an app's replicas (Azure Container Apps' ingress). HAProxy, configured from the
# environment, so the container needs no file mounted:
#   BACKENDS      the replicas, "host:port host:port ..." (names resolved through Docker's DNS, again after a restart)
#   LISTEN_PORT   where it listens (default 8080)
#   HEALTH_PATH   the replicas' liveness probe (default /alive); a replica that fails it leaves the rotation
# Each request goes to the next live replica (round robin); the answer carries X-Served-By: the replica's host.
set -eu
: "${BACKENDS:?BACKENDS must name the replicas (host:port ...)}"
config=/tmp/haproxy.cfg
cat >"$config" <<CONFIG
global
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 10m
    timeout server 10m
    # A new balancing decision for every request, not one per client connection.
    option http-server-close
    # A replica that refuses the connection (killed) is skipped; a request it already received is never re-sent.
    retries 2
    option redispatch

resolvers docker
    nameserver dns 127.0.0.11:53
    hold valid 1s
    hold other 1s
    hold refused 1s
    hold nx 1s
    hold timeout 1s
    hold obsolete 1s

frontend app
    bind :${LISTEN_PORT:-8080}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET ${HEALTH_PATH:-/alive}
    default-server check inter 1s fall 2 rise 1 resolvers docker init-addr last,libc,none
    http-response set-header X-Served-By %[srv_name]
CONFIG
for backend in $BACKENDS; do
    echo "    server ${backend%%:*} $backend" >>"$config"
done
exec haproxy -W -db -f "$config"
