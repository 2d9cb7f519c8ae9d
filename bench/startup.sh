#!/usr/bin/env bash
# Start-up benchmark: `dotnet run --project AppHost` against `docker-compose up` of the equivalent hand-written
# file (docs/compose/docker-compose.yaml), each timed from launch to every service healthy. Not a test.
#   bench/startup.sh [--rounds 5] [--warmup 1] [--timeout 600] [--yes]
# Both run the same images, chosen by the AppHost's own settings (environment):
#   Images__Postgres, Jupyter__BaseImage, Jupyter__PipIndexUrl (Images__PgWeb must be none: the compose file has
#   no pgweb), and DATASTACK_PROCESSING_IMAGE (default datastack-processing:dev) for compose's processing.
# Every round starts clean: the AppHost's postgres data volume and the compose volume are removed after each
# round, so both initialise the database every time. That deletes this checkout's local AppHost database:
# if its volume existed before the bench, the bench stops after the warm-up unless --yes is given.
# Results: stdout and bench/results/startup-<UTC timestamp>.md (gitignored). See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=5 WARMUP=1 TIMEOUT=600 YES=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --yes) YES=1; shift ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/startup.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "bench/startup.sh: $*" >&2; exit 2; }
say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# --- Prerequisites and settings ------------------------------------------------------------------------------
missing=()
command -v dotnet >/dev/null 2>&1 || missing+=("the .NET 10 SDK (dotnet)")
command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 || missing+=("a running Docker engine (docker info)")
if command -v docker-compose >/dev/null 2>&1; then COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose)
else missing+=("Docker Compose: apt-get install docker-compose (v1) or the docker-compose-plugin (v2)"); fi
command -v openssl >/dev/null 2>&1 || missing+=("openssl (secrets for the compose .env)")
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/startup.sh: missing prerequisites:" >&2; printf '  - %s\n' "${missing[@]}" >&2; exit 2
fi

export Images__PgWeb=${Images__PgWeb:-none}
[ "$Images__PgWeb" = none ] || die "Images__PgWeb=$Images__PgWeb: the compose file has no pgweb; run with Images__PgWeb=none"
[ -z "${Images__Registry:-}" ] || die "Images__Registry is not supported here: put the registry into Images__Postgres and Jupyter__BaseImage"
POSTGRES_IMAGE=${Images__Postgres:-docker.io/library/postgres:17.6}
JUPYTER_BASE_IMAGE=${Jupyter__BaseImage:-quay.io/jupyter/scipy-notebook:2025-12-31}
PIP_INDEX_URL=${Jupyter__PipIndexUrl:-}
PROCESSING_IMAGE=${DATASTACK_PROCESSING_IMAGE:-datastack-processing:dev}
JUPYTER_IMAGE=${DATASTACK_COMPOSE_JUPYTER_IMAGE:-datastack-jupyter:compose}
docker image inspect "$POSTGRES_IMAGE" >/dev/null 2>&1 || die "image $POSTGRES_IMAGE is not in the local Docker: pull it first (pulls are not timed)"
docker image inspect "$JUPYTER_BASE_IMAGE" >/dev/null 2>&1 || die "image $JUPYTER_BASE_IMAGE is not in the local Docker: pull it first"
docker image inspect "$PROCESSING_IMAGE" >/dev/null 2>&1 ||
    die "image $PROCESSING_IMAGE is missing: tests/images/build-processing-image.sh (offline) or dotnet publish Processing -t:PublishContainer"

WORK=$(mktemp -d /tmp/datastack-startup.XXXXXX)
PROJECT="dsstartup$$"
COMPOSE_FILE=$ROOT/docs/compose/docker-compose.yaml
APPHOST_PID="" DCP_PID="" APPHOST_VOLUME=""

free_port() { /usr/bin/env python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "$COMPOSE_FILE" --env-file "$WORK/compose.env" "$@"; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# Throwaway secrets for the compose stack (the AppHost keeps its own in its user secrets); never printed.
{
    echo "POSTGRES_PASSWORD=$(openssl rand -hex 16)"
    echo "PROCESSING_API_KEY=$(openssl rand -hex 16)"
    echo "JUPYTER_TOKEN=$(openssl rand -hex 16)"
    echo "DATASTACK_UID=$(stat -c %u data)"
    echo "DATASTACK_GID=$(stat -c %g data)"
    echo "POSTGRES_IMAGE=$POSTGRES_IMAGE"
    echo "PROCESSING_IMAGE=$PROCESSING_IMAGE"
    echo "JUPYTER_IMAGE=$JUPYTER_IMAGE"
    echo "JUPYTER_BASE_IMAGE=$JUPYTER_BASE_IMAGE"
    echo "PIP_INDEX_URL=$PIP_INDEX_URL"
    echo "POSTGRES_PORT=$(free_port)"
    echo "PROCESSING_PORT=$(free_port)"
    echo "JUPYTER_PORT=$(free_port)"
} > "$WORK/compose.env"

# --- The AppHost ---------------------------------------------------------------------------------------------
# Containers the AppHost's orchestrator (DCP) created carry its process id in a label.
dcp_containers() { docker ps -aq --filter "label=com.microsoft.developer.usvc-dev.creatorProcessId=$1"; }

find_dcp() {   # $1 = dotnet run's pid -> the pid of DCP's controller process, or nothing yet
    local apphost api
    apphost=$(ps -o pid= --ppid "$1" | head -n 1 | tr -d ' ')
    [ -n "$apphost" ] || return 0
    api=$(pgrep -f -- "dcp start-apiserver --monitor $apphost " | head -n 1 || true)
    [ -n "$api" ] || return 0
    pgrep -P "$api" -f 'run-controllers' | head -n 1 || true
}

stop_apphost() {   # SIGTERM (Ctrl+C's graceful stop; bash starts background jobs with SIGINT ignored), then
    [ -n "$APPHOST_PID" ] || return 0   # wait until the process and every container it started are gone
    kill -TERM -- "-$APPHOST_PID" 2>/dev/null || true
    wait "$APPHOST_PID" 2>/dev/null || true
    local deadline=$((SECONDS + 180))
    while [ -n "$DCP_PID" ] && { kill -0 "$DCP_PID" 2>/dev/null || [ -n "$(dcp_containers "$DCP_PID")" ]; }; do
        if [ $SECONDS -gt $deadline ]; then
            say "the AppHost's containers are still there after 180 s: removing them"
            dcp_containers "$DCP_PID" | xargs -r docker rm -f >/dev/null
            break
        fi
        sleep 0.2
    done
    APPHOST_PID="" DCP_PID=""
}

wait_port_free() {   # Processing's endpoint port (Processing/Properties/launchSettings.json), bound by the AppHost
    local deadline=$((SECONDS + TIMEOUT))
    while ss -Hltn "sport = :$1" | grep -q .; do
        [ $SECONDS -lt $deadline ] || return 1
        [ -n "${warned:-}" ] || { say "port $1 is in use (another AppHost?): waiting for it" >&2; warned=1; }
        sleep 1
    done
}

apphost_round() {   # sets RESULT to "<wall s> <AppHost's own s>" or "FAIL <message>"
    local log=$WORK/apphost-$1.log t0 line deadline
    wait_port_free 5180 || { RESULT="FAIL port 5180 stayed in use"; return; }
    # The launch profile's variables, with free ports instead of its fixed 17180/21180/22180 (another AppHost
    # on this machine may hold those); the profile sets nothing else.
    local dashboard otlp resources; dashboard=$(free_port) otlp=$(free_port) resources=$(free_port)
    t0=$(now)
    ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development ASPNETCORE_URLS="https://localhost:$dashboard" \
    ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="https://localhost:$otlp" ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="https://localhost:$resources" \
        setsid dotnet run --project AppHost --no-build --no-launch-profile > "$log" 2>&1 < /dev/null &
    APPHOST_PID=$!
    deadline=$((SECONDS + TIMEOUT))
    while :; do
        line=$(grep -m1 -oE "All [0-9]+ resources are healthy, [0-9.]+ s after the AppHost started|Resource '[^']+' is (FailedToStart|RuntimeUnhealthy)" "$log" || true)
        [ -z "$line" ] || break
        kill -0 "$APPHOST_PID" 2>/dev/null || { line="EXIT"; break; }
        [ $SECONDS -lt $deadline ] || { line="TIMEOUT"; break; }
        sleep 0.1
    done
    local t1; t1=$(now)
    [ -n "$DCP_PID" ] || DCP_PID=$(find_dcp "$APPHOST_PID")
    if [ -n "$DCP_PID" ] && [ -z "$APPHOST_VOLUME" ]; then
        APPHOST_VOLUME=$(docker inspect -f '{{index .Config.Labels "com.microsoft.developer.usvc-dev.mountsLabel"}}' \
            $(dcp_containers "$DCP_PID") 2>/dev/null | grep -oE 'src=[^,;]*postgres-data' | head -n 1 | cut -d= -f2 || true)
    fi
    cp "$log" "$WORK/last-apphost.log"
    stop_apphost
    case "$line" in
        All*) RESULT="$(elapsed "$t0" "$t1") $(sed -E 's/.*healthy, ([0-9.]+) s.*/\1/' <<< "$line")" ;;
        EXIT) RESULT="FAIL the AppHost exited: $(grep -vE 'Login to the dashboard|login\?t=' "$log" | tail -n 3 | tr '\n' ' ')" ;;
        TIMEOUT) RESULT="FAIL no 'All N resources are healthy' line within $TIMEOUT s" ;;
        *) RESULT="FAIL $line" ;;
    esac
}

# --- Compose -------------------------------------------------------------------------------------------------
compose_down() { compose down -v --remove-orphans > "$WORK/compose-down.log" 2>&1 || true
    local ids; ids=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")
    [ -z "$ids" ] || docker rm -f $ids >/dev/null; }

compose_round() {   # sets RESULT to "<wall s>" or "FAIL <message>"
    # Docker's own health events, streamed into a file that is polled like the AppHost's console (a docker
    # inspect loop would load the CPU that the stack is starting on); --since replays anything missed.
    local t0 t1 events=$WORK/compose-events-$1.log evpid healthy deadline
    t0=$(now)
    docker events --since "$t0" --filter "label=com.docker.compose.project=$PROJECT" --filter event=health_status \
        --filter event=die --format '{{.Actor.Attributes.name}} {{.Status}}' > "$events" 2>&1 &
    evpid=$!
    if ! compose up -d > "$WORK/compose-up-$1.log" 2>&1; then
        RESULT="FAIL docker-compose up: $(tail -n 2 "$WORK/compose-up-$1.log" | tr '\n' ' ')"
    else
        deadline=$((SECONDS + TIMEOUT))
        while :; do
            healthy=$(grep ' health_status: healthy$' "$events" | cut -d' ' -f1 | sort -u | wc -l)
            if [ "$healthy" -ge 3 ]; then t1=$(now); RESULT=$(elapsed "$t0" "$t1"); break; fi
            if grep -qE ' (die|health_status: unhealthy)$' "$events"; then
                RESULT="FAIL $(grep -E ' (die|health_status: unhealthy)$' "$events" | head -n 1)"; break
            fi
            [ $SECONDS -lt $deadline ] || { RESULT="FAIL not all healthy within $TIMEOUT s: $(tr '\n' ';' < "$events")"; break; }
            sleep 0.1
        done
    fi
    kill "$evpid" 2>/dev/null || true
    wait "$evpid" 2>/dev/null || true
    compose_down
}

cleanup() {
    stop_apphost
    compose_down
    if [ -n "$APPHOST_VOLUME" ] && [ "${DELETE_VOLUME:-0}" = 1 ]; then docker volume rm "$APPHOST_VOLUME" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

# --- Run ------------------------------------------------------------------------------------------------------
say "building the AppHost (and Processing) and the compose Jupyter image; not timed"
dotnet build AppHost -nologo -v q > "$WORK/build.log" 2>&1 || { tail -n 20 "$WORK/build.log"; die "dotnet build AppHost failed"; }
docker build -q -t "$JUPYTER_IMAGE" --build-arg "BASE_IMAGE=$JUPYTER_BASE_IMAGE" --build-arg "PIP_INDEX_URL=$PIP_INDEX_URL" Jupyter/ \
    > "$WORK/jupyter-build.log" 2>&1 || { tail -n 20 "$WORK/jupyter-build.log"; die "docker build Jupyter/ failed"; }

volumes_before=$(docker volume ls -q)
apphost_samples=() own_samples=() compose_samples=() rows=() failures=() loads=()
run_one() {   # $1 = apphost|compose, $2 = round label; appends to the samples
    local load result; load=$(load1); loads+=("$load")
    if [ "$1" = apphost ]; then
        apphost_round "$2"; result=$RESULT
        [ -z "$APPHOST_VOLUME" ] || [ "${DELETE_VOLUME:-0}" = 1 ] || check_volume
        [ -z "$APPHOST_VOLUME" ] || docker volume rm "$APPHOST_VOLUME" >/dev/null 2>&1 || true
    else
        compose_round "$2"; result=$RESULT
    fi
    say "round $2: $1 ${result} (load $load)"
    case "$result" in
        FAIL*) failures+=("round $2, $1: ${result#FAIL }"); rows+=("| $2 | $1 | failed: ${result#FAIL } | | $load |") ;;
        *) local own=""; [ "$1" = compose ] || own=${result#* }
           if [ "$2" != warm-up ]; then
               if [ "$1" = apphost ]; then apphost_samples+=("${result% *}"); own_samples+=("$own"); else compose_samples+=("$result"); fi
           fi
           rows+=("| $2 | $1 | ${result% *} | $own | $load |") ;;
    esac
}
check_volume() {
    if grep -qx "$APPHOST_VOLUME" <<< "$volumes_before" && [ "$YES" != 1 ]; then
        DELETE_VOLUME=0
        die "the AppHost's data volume $APPHOST_VOLUME existed before the bench (this checkout's local database). Every round removes it; rerun with --yes to allow that"
    fi
    DELETE_VOLUME=1
}

uptime_start=$(uptime)
say "start: $uptime_start"
for ((w = 1; w <= WARMUP; w++)); do run_one apphost warm-up; run_one compose warm-up; done
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then run_one apphost "$r"; run_one compose "$r"; else run_one compose "$r"; run_one apphost "$r"; fi
done
uptime_end=$(uptime)
say "end: $uptime_end"

# --- Report ---------------------------------------------------------------------------------------------------
median() { [ $# -gt 0 ] || { echo "n/a"; return; }; printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { [ $# -gt 0 ] || { echo "n/a"; return; }; printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- | sed 's/-/ – /'; }
m_app=$(median "${apphost_samples[@]}") m_own=$(median "${own_samples[@]}") m_comp=$(median "${compose_samples[@]}")
ratio=n/a verdict="not judged (a side has no successful round)"
if [ "$m_app" != n/a ] && [ "$m_comp" != n/a ]; then
    ratio=$(awk -v a="$m_app" -v c="$m_comp" 'BEGIN { printf "%.2f", a / c }')
    verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.5 ? "met" : "not met") }')
fi
load_range=$(range "${loads[@]}")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results
report=bench/results/startup-$stamp.md
image_line() { echo "\`$1\` $(docker image inspect -f '{{slice .Id 7 19}}, created {{slice .Created 0 19}}' "$1")"; }
{
    echo "# Start-up: \`dotnet run --project AppHost\` vs \`docker-compose up\` ($stamp)"
    echo
    echo "| | Median wall time to all healthy | Range | Rounds |"
    echo "|---|---|---|---|"
    echo "| \`dotnet run --project AppHost --no-build\` | **$m_app s** (AppHost's own count: $m_own s) | $(range "${apphost_samples[@]}") s | ${#apphost_samples[@]} |"
    echo "| \`${COMPOSE[*]} up -d\` + health | **$m_comp s** | $(range "${compose_samples[@]}") s | ${#compose_samples[@]} |"
    echo
    echo "Ratio AppHost / compose: **$ratio** (target ≤ 1.5: $verdict). Load average (1 min) at the start of each"
    echo "measurement: $load_range. Fresh volumes every round (both initialise the database); $WARMUP warm-up round(s)"
    echo "per side not counted; order alternates (odd rounds AppHost first)."
    echo
    echo "| Round | Contender | Wall s | AppHost's own s | Load (1 min) |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    if [ ${#failures[@]} -gt 0 ]; then echo "Failed rounds:"; printf -- '- %s\n' "${failures[@]}"; echo; fi
    echo "Machine: $(nproc) vCPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ { print $2 }') GB RAM,"
    echo "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r); Docker engine $(docker version -f '{{.Server.Version}}'),"
    echo "CLI $(docker version -f '{{.Client.Version}}'); Compose $("${COMPOSE[@]}" version --short 2>/dev/null || "${COMPOSE[@]}" version | head -n 1);"
    echo ".NET SDK $(dotnet --version); commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with local changes)')."
    echo
    echo "- start: $uptime_start"
    echo "- end: $uptime_end"
    echo
    echo "Images:"
    for image in "$POSTGRES_IMAGE" "$PROCESSING_IMAGE" "$JUPYTER_BASE_IMAGE" "$JUPYTER_IMAGE"; do echo "- $(image_line "$image")"; done
} > "$report"
echo
sed -n '3,9p' "$report"
echo "Report: $report"
[ ${#apphost_samples[@]} -gt 0 ] && [ ${#compose_samples[@]} -gt 0 ]
