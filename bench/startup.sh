#!/usr/bin/env bash
# Start-up benchmark: `dotnet run --project AppHost` against `docker-compose up` of the equivalent hand-written
# file (docs/compose/docker-compose.yaml), each timed from launch to every service healthy. Not a test.
#   bench/startup.sh [--rounds 5] [--warmup 1] [--timeout 600] [--yes]
#   bench/startup.sh --profile [--yes]      # one cold and one warm AppHost start, as a timeline (no compose)
# Every round times four starts: each side cold (no data volume, no container: both initialise the database)
# and then warm (started again right after it stopped, the data volume there: the AppHost also finds its
# persistent postgres container still running, Postgres:Lifetime=Persistent; compose finds its volume).
# Both run the same images, chosen by the AppHost's own settings (environment):
#   Images__Postgres, Jupyter__BaseImage, Jupyter__PipIndexUrl, Runner__BaseImage, Runner__Replicas (must be 1, as
#   compose has one runner; Images__PgWeb must be none: the compose file has no pgweb), and
#   DATASTACK_PROCESSING_IMAGE (default datastack-processing:dev) for compose's processing.
# Before each cold start this checkout's AppHost postgres container and data volume are removed, which deletes
# its local database: if the volume exists when the bench starts, it stops at once unless --yes.
# Results: stdout and bench/results/startup-<UTC timestamp>.md (gitignored). See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=5 WARMUP=1 TIMEOUT=600 YES=0 PROFILE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --yes) YES=1; shift ;;
        --profile) PROFILE=1; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
elif [ "$PROFILE" = 1 ]; then COMPOSE=(false)
else missing+=("Docker Compose: apt-get install docker-compose (v1) or the docker-compose-plugin (v2)"); fi
command -v openssl >/dev/null 2>&1 || missing+=("openssl (secrets for the compose .env)")
command -v python3 >/dev/null 2>&1 || missing+=("python3 (free ports, the --profile timeline)")
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/startup.sh: missing prerequisites:" >&2; printf '  - %s\n' "${missing[@]}" >&2; exit 2
fi

export Images__PgWeb=${Images__PgWeb:-none}
[ "$Images__PgWeb" = none ] || die "Images__PgWeb=$Images__PgWeb: the compose file has no pgweb; run with Images__PgWeb=none"
[ -z "${Images__Registry:-}" ] || die "Images__Registry is not supported here: put the registry into Images__Postgres and Jupyter__BaseImage"
[ -z "${Postgres__Lifetime:-}" ] || die "Postgres__Lifetime is set: the bench times the AppHost as appsettings.json configures it"
POSTGRES_IMAGE=${Images__Postgres:-docker.io/library/postgres:17.6}
JUPYTER_BASE_IMAGE=${Jupyter__BaseImage:-quay.io/jupyter/scipy-notebook:2025-12-31}
PIP_INDEX_URL=${Jupyter__PipIndexUrl:-}
PROCESSING_IMAGE=${DATASTACK_PROCESSING_IMAGE:-datastack-processing:dev}
JUPYTER_IMAGE=${DATASTACK_COMPOSE_JUPYTER_IMAGE:-datastack-jupyter:compose}
RUNNER_BASE_IMAGE=${Runner__BaseImage:-$JUPYTER_BASE_IMAGE}   # the AppHost's default: the notebook's base
RUNNER_IMAGE=${DATASTACK_COMPOSE_RUNNER_IMAGE:-datastack-runner:compose}
[ "${Runner__Replicas:-1}" = 1 ] || die "Runner__Replicas=$Runner__Replicas: the compose file has one runner; run with Runner__Replicas=1"
docker image inspect "$RUNNER_BASE_IMAGE" >/dev/null 2>&1 || die "image $RUNNER_BASE_IMAGE is not in the local Docker: pull it first"
docker image inspect "$POSTGRES_IMAGE" >/dev/null 2>&1 || die "image $POSTGRES_IMAGE is not in the local Docker: pull it first (pulls are not timed)"
docker image inspect "$JUPYTER_BASE_IMAGE" >/dev/null 2>&1 || die "image $JUPYTER_BASE_IMAGE is not in the local Docker: pull it first"
[ "$PROFILE" = 1 ] || docker image inspect "$PROCESSING_IMAGE" >/dev/null 2>&1 ||
    die "image $PROCESSING_IMAGE is missing: tests/images/build-processing-image.sh (offline) or dotnet publish Processing -t:PublishContainer"

WORK=$(mktemp -d /tmp/datastack-startup.XXXXXX)
PROJECT="dsstartup$$"
COMPOSE_FILE=$ROOT/docs/compose/docker-compose.yaml
APPHOST_PID="" DCP_PID=""
# This checkout's postgres data volume, named by Aspire from the SHA-256 of the AppHost project's path (lower case);
# its persistent container is postgres-<the first 8 hex digits>. Checked against what DCP mounts after a start.
APPHOST_HASH=$(printf '%s' "${ROOT,,}/apphost/apphost.csproj" | sha256sum | cut -c1-10)
APPHOST_VOLUME="apphost-$APPHOST_HASH-postgres-data"

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
    echo "RUNNER_IMAGE=$RUNNER_IMAGE"
    echo "RUNNER_BASE_IMAGE=$RUNNER_BASE_IMAGE"
    echo "JUPYTER_BASE_IMAGE=$JUPYTER_BASE_IMAGE"
    echo "PIP_INDEX_URL=$PIP_INDEX_URL"
    echo "POSTGRES_PORT=$(free_port)"
    echo "PROCESSING_PORT=$(free_port)"
    echo "JUPYTER_PORT=$(free_port)"
} > "$WORK/compose.env"

# --- The AppHost ---------------------------------------------------------------------------------------------
# Containers the AppHost's orchestrator (DCP) created for its session carry its process id in a label; the
# persistent postgres container is labelled persistent=true and outlives the AppHost on purpose.
dcp_containers() { docker ps -aq --filter "label=com.microsoft.developer.usvc-dev.creatorProcessId=$1" \
    --filter "label=com.microsoft.developer.usvc-dev.persistent=false"; }

find_dcp() {   # $1 = dotnet run's pid -> the pid of DCP's controller process, or nothing yet
    local apphost api
    apphost=$(ps -o pid= --ppid "$1" | head -n 1 | tr -d ' ')
    [ -n "$apphost" ] || return 0
    api=$(pgrep -f -- "dcp start-apiserver --monitor $apphost " | head -n 1 || true)
    [ -n "$api" ] || return 0
    pgrep -P "$api" -f 'run-controllers' | head -n 1 || true
}

stop_apphost() {   # SIGTERM (Ctrl+C's graceful stop; bash starts background jobs with SIGINT ignored), then
    [ -n "$APPHOST_PID" ] || return 0   # wait until the process and every session container it started are gone
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

# What a cold start must not find: the persistent postgres container (and its network) and the data volume.
apphost_reset() {
    local ids networks=""
    ids=$(docker ps -aq --filter "volume=$APPHOST_VOLUME")
    if [ -n "$ids" ]; then
        networks=$(docker inspect -f '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}' $ids)
        docker rm -f $ids >/dev/null
    fi
    for network in $networks; do docker network rm "$network" >/dev/null 2>&1 || true; done   # refused while in use
    docker volume rm "$APPHOST_VOLUME" >/dev/null 2>&1 || true
}

wait_port_free() {   # Processing's endpoint port (Processing/Properties/launchSettings.json), bound by the AppHost
    local deadline=$((SECONDS + TIMEOUT))
    while ss -Hltn "sport = :$1" | grep -q .; do
        [ $SECONDS -lt $deadline ] || return 1
        [ -n "${warned:-}" ] || { say "port $1 is in use (another AppHost?): waiting for it" >&2; warned=1; }
        sleep 1
    done
}

apphost_round() {   # $1 = label; sets RESULT to "<wall s> <AppHost's own s>" or "FAIL <message>"
    local log=$WORK/apphost-$1.log t0 line deadline
    wait_port_free 5180 || { RESULT="FAIL port 5180 stayed in use"; return; }
    # The launch profile's variables, with free ports instead of its fixed 17180/21180/22180 (another AppHost
    # on this machine may hold those); the profile sets nothing else.
    local dashboard otlp resources; dashboard=$(free_port) otlp=$(free_port) resources=$(free_port)
    local diagnostics=()
    if [ "$PROFILE" = 1 ]; then
        # Timestamps on the console, the AppHost's own timeline (StartupReporter at Debug), DCP's log.
        mkdir -p "$WORK/dcp-$1"
        diagnostics=(Logging__Console__FormatterName=simple "Logging__Console__FormatterOptions__TimestampFormat=HH:mm:ss.fff "
            Logging__Console__FormatterOptions__UseUtcTimestamp=true Logging__LogLevel__DataStack.AppHost=Debug
            DCP_DIAGNOSTICS_LOG_LEVEL=debug "DCP_DIAGNOSTICS_LOG_FOLDER=$WORK/dcp-$1")
        docker events --since "$(date +%s)" --filter type=container --filter event=create --filter event=start \
            --format '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}' > "$WORK/events-$1.log" 2>&1 &
        EVENTS_PID=$!
    fi
    t0=$(now)
    echo "$t0" > "$WORK/t0-$1"
    env ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development ASPNETCORE_URLS="https://localhost:$dashboard" \
        ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="https://localhost:$otlp" ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="https://localhost:$resources" \
        "${diagnostics[@]}" setsid dotnet run --project AppHost --no-build --no-launch-profile > "$log" 2>&1 < /dev/null &
    APPHOST_PID=$!
    deadline=$((SECONDS + TIMEOUT))
    while :; do
        line=$(grep -m1 -oE "All [0-9]+ resources are healthy, [0-9.]+ s after the AppHost started|Resource '[^']+' is (FailedToStart|RuntimeUnhealthy)" "$log" 2>/dev/null || true)
        [ -z "$line" ] || break
        kill -0 "$APPHOST_PID" 2>/dev/null || { line="EXIT"; break; }
        [ $SECONDS -lt $deadline ] || { line="TIMEOUT"; break; }
        sleep 0.1
    done
    local t1; t1=$(now)
    [ -n "$DCP_PID" ] || DCP_PID=$(find_dcp "$APPHOST_PID")
    if [[ $line == All* ]] && ! docker ps -q --filter "volume=$APPHOST_VOLUME" | grep -q .; then
        line="no running container mounts $APPHOST_VOLUME: has Aspire's naming of volumes changed? (bench/startup.sh, APPHOST_VOLUME)"
    fi
    cp "$log" "$WORK/last-apphost.log"
    stop_apphost
    [ "$PROFILE" = 0 ] || { sleep 1; kill "$EVENTS_PID" 2>/dev/null || true; wait "$EVENTS_PID" 2>/dev/null || true; }
    case "$line" in
        All*) RESULT="$(elapsed "$t0" "$t1") $(sed -E 's/.*healthy, ([0-9.]+) s.*/\1/' <<< "$line")" ;;
        EXIT) RESULT="FAIL the AppHost exited: $(grep -vE 'Login to the dashboard|login\?t=' "$log" | tail -n 3 | tr '\n' ' ')" ;;
        TIMEOUT) RESULT="FAIL no 'All N resources are healthy' line within $TIMEOUT s" ;;
        *) RESULT="FAIL $line" ;;
    esac
}

# --- Compose -------------------------------------------------------------------------------------------------
compose_down() {   # $1 = -v to remove the data volume too
    compose down ${1:-} --remove-orphans > "$WORK/compose-down.log" 2>&1 || true
    local ids; ids=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")
    [ -z "$ids" ] || docker rm -f $ids >/dev/null; }

compose_round() {   # $1 = label; sets RESULT to "<wall s>" or "FAIL <message>"
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
            if [ "$healthy" -ge 4 ]; then t1=$(now); RESULT=$(elapsed "$t0" "$t1"); break; fi
            if grep -qE ' (die|health_status: unhealthy)$' "$events"; then
                RESULT="FAIL $(grep -E ' (die|health_status: unhealthy)$' "$events" | head -n 1)"; break
            fi
            [ $SECONDS -lt $deadline ] || { RESULT="FAIL not all healthy within $TIMEOUT s: $(tr '\n' ';' < "$events")"; break; }
            sleep 0.1
        done
    fi
    kill "$evpid" 2>/dev/null || true
    wait "$evpid" 2>/dev/null || true
}

cleanup() {
    stop_apphost
    [ "$PROFILE" = 1 ] || compose_down -v
    apphost_reset
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

# --- The --profile timeline ------------------------------------------------------------------------------------
# Merges, in time from `dotnet run`'s launch: the AppHost's console (its own timeline at Debug, DCP's start, the
# dashboard), DCP's log (the docker commands it runs, the container tunnel) and Docker's container events.
timeline() {   # $1 = label
    /usr/bin/env python3 - "$WORK" "$1" <<'PY'
import datetime, glob, json, re, sys
work, label = sys.argv[1], sys.argv[2]
t0 = float(open(f"{work}/t0-{label}").read())
day = datetime.datetime.fromtimestamp(t0, datetime.timezone.utc).date()
rows, ours = [], set()
def add(t, source, what): rows.append((t - t0, source, what))
def short(name): return re.sub(r"-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$|-[a-z0-9]{8}$", "", name)
def dcp_log(kind):
    for path in glob.glob(f"{work}/dcp-{label}/*{kind}*.log"):
        for line in open(path, errors="replace"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            yield datetime.datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp(), entry
lines = open(f"{work}/apphost-{label}.log", errors="replace").read().splitlines()
for header, message in zip(lines, lines[1:] + [""]):
    m = re.match(r"^(\d\d:\d\d:\d\d\.\d{3}) \w+: (\S+)", header)
    if not m:
        continue
    when = datetime.datetime.combine(day, datetime.time.fromisoformat(m.group(1)), tzinfo=datetime.timezone.utc).timestamp()
    message = message.strip()
    if m.group(2).startswith("DataStack.AppHost.StartupReporter"):
        state = re.match(r"[\d.]+ s (\S+): (.*)", message)
        if state and not re.search(r"password|api-key|token|rebuilder", state.group(1)):
            add(when, "apphost", f"{short(state.group(1))}: {state.group(2)}")
        elif message.startswith("All "):
            add(when, "apphost", message.split(":")[0])
    elif message.startswith(("Distributed application starting", "Now listening on", "Distributed application started")):
        add(when, "apphost", message.split(": https")[0].rstrip("."))
for when, entry in dcp_log("start-apiserver"):
    if entry.get("msg") == "API server started":
        add(when, "dcp", "API server started")
tunnel_ready = False
for when, entry in dcp_log("run-controllers"):
    msg, command = entry.get("msg", ""), str(entry.get("Command", ""))
    created = re.search(r"docker create --name (\S+)", command)
    if msg == "Running Docker command" and created:
        ours.add(created.group(1))
        add(when, "dcp", f"docker create {short(created.group(1))}")
    elif msg == "Running Docker command" and re.search(r"docker build ", command):
        add(when, "dcp", "docker build " + re.sub(r".* -t (\S+).*", r"\1", command))
    elif msg == "PhysicalContainerImage pull attempt failed":
        add(when, "dcp", f"tunnel: pull of its base image {entry.get('Image', '')} failed (attempt {entry.get('Attempt')})")
    elif msg.startswith("Server proxy started successfully"):
        add(when, "dcp", "tunnel: proxy pair started")
    elif msg == "Tunnel prepared successfully" and not tunnel_ready:
        tunnel_ready = True
        add(when, "dcp", "tunnel: ready")
    elif msg == "Starting process..." and entry.get("Cmd"):
        add(when, "dcp", f"process: {entry['Cmd'].split('/')[-1]} {' '.join(map(str, entry.get('Args', [])[:1]))}".strip()[:100])
for line in open(f"{work}/events-{label}.log", errors="replace"):
    parts = line.split()
    if len(parts) == 3 and parts[0].isdigit() and parts[2] in ours:
        add(int(parts[0]) / 1e9, "docker", f"container {parts[1]} {short(parts[2])}")
for t, source, what in sorted(rows):
    print(f"| {t:6.2f} | {source} | {what} |")
PY
}

# --- Run ------------------------------------------------------------------------------------------------------
say "building the AppHost (and Processing) and the compose Jupyter and runner images; not timed"
dotnet build AppHost -nologo -v q > "$WORK/build.log" 2>&1 || { tail -n 20 "$WORK/build.log"; die "dotnet build AppHost failed"; }
build_stage() {   # $1 = stage of Jupyter/Dockerfile, $2 = image name, $3 = its base image
    docker build -q -t "$2" --target "$1" --build-arg "BASE_IMAGE=$3" --build-arg "PIP_INDEX_URL=$PIP_INDEX_URL" Jupyter/ \
        > "$WORK/$1-build.log" 2>&1 || { tail -n 20 "$WORK/$1-build.log"; die "docker build --target $1 Jupyter/ failed"; }
}
if [ "$PROFILE" = 0 ]; then
    build_stage jupyter "$JUPYTER_IMAGE" "$JUPYTER_BASE_IMAGE"
    build_stage runner "$RUNNER_IMAGE" "$RUNNER_BASE_IMAGE"
fi

if docker volume inspect "$APPHOST_VOLUME" >/dev/null 2>&1 && [ "$YES" != 1 ]; then
    trap - EXIT; rm -rf "$WORK"
    die "this checkout's AppHost data volume $APPHOST_VOLUME exists (its local database). Every cold start removes it and its postgres container; rerun with --yes to allow that"
fi
apphost_reset
declare -A samples=()
rows=() failures=() loads=()
run_one() {   # $1 = apphost|compose, $2 = cold|warm, $3 = round label; appends to the samples
    local load result contender="$1 $2"; load=$(load1); loads+=("$load")
    if [ "$1" = apphost ]; then
        apphost_round "$3-$2"; result=$RESULT
    else
        compose_round "$3-$2"; result=$RESULT
    fi
    say "round $3: $contender ${result} (load $load)"
    case "$result" in
        FAIL*) failures+=("round $3, $contender: ${result#FAIL }"); rows+=("| $3 | $contender | failed: ${result#FAIL } | | $load |") ;;
        *) local own=""; [ "$1" = compose ] || own=${result#* }
           [ "$3" = warm-up ] || samples["$contender"]+="${result%% *} "
           [ "$3" = warm-up ] || [ "$1" = compose ] || samples["$contender own"]+="$own "
           rows+=("| $3 | $contender | ${result%% *} | $own | $load |") ;;
    esac
}
apphost_pair() { run_one apphost cold "$1"; run_one apphost warm "$1"; apphost_reset; }
compose_pair() { run_one compose cold "$1"; compose_down; run_one compose warm "$1"; compose_down -v; }

uptime_start=$(uptime)
say "start: $uptime_start"
if [ "$PROFILE" = 1 ]; then
    for kind in cold warm; do
        apphost_round "$kind"; say "$kind: ${RESULT} (load $(load1))"
        echo "### $kind start: ${RESULT%% *} s to all healthy"; echo; echo "| s | source | event |"; echo "|---|---|---|"; timeline "$kind"; echo
    done | tee "$WORK/profile.md"
    apphost_reset
    mkdir -p bench/results
    { echo "# Start-up profile ($(date -u +%Y%m%dT%H%M%SZ), commit $(git rev-parse --short HEAD))"; echo; echo "- start: $uptime_start"; echo "- end: $(uptime)"; echo
      cat "$WORK/profile.md"; } > "bench/results/startup-profile-$(date -u +%Y%m%dT%H%M%SZ).md"
    exit 0
fi
for ((w = 1; w <= WARMUP; w++)); do apphost_pair warm-up; compose_pair warm-up; done
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then apphost_pair "$r"; compose_pair "$r"; else compose_pair "$r"; apphost_pair "$r"; fi
done
uptime_end=$(uptime)
say "end: $uptime_end"

# --- Report ---------------------------------------------------------------------------------------------------
median() { [ $# -gt 0 ] || { echo "n/a"; return; }; printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { [ $# -gt 0 ] || { echo "n/a"; return; }; printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- | sed 's/-/ – /'; }
of() { median ${samples["$1"]:-}; }
spread() { range ${samples["$1"]:-}; }
count() { set -- ${samples["$1"]:-}; echo $#; }
ratio() { [ "$1" != n/a ] && [ "$2" != n/a ] && awk -v a="$1" -v c="$2" 'BEGIN { printf "%.2f", a / c }' || echo n/a; }
verdict() { [ "$1" != n/a ] && awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "met" : "not met") }' || echo "not judged"; }
cold_ratio=$(ratio "$(of 'apphost cold')" "$(of 'compose cold')")
warm_ratio=$(ratio "$(of 'apphost warm')" "$(of 'compose cold')")
warm_warm=$(ratio "$(of 'apphost warm')" "$(of 'compose warm')")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results
report=bench/results/startup-$stamp.md
image_line() { echo "\`$1\` $(docker image inspect -f '{{slice .Id 7 19}}, created {{slice .Created 0 19}}' "$1")"; }
{
    echo "# Start-up: \`dotnet run --project AppHost\` vs \`docker-compose up\` ($stamp)"
    echo
    echo "| | Median wall time to all healthy | Range | Rounds |"
    echo "|---|---|---|---|"
    echo "| \`dotnet run --project AppHost --no-build\`, cold | **$(of 'apphost cold') s** (AppHost's own count: $(of 'apphost cold own') s) | $(spread 'apphost cold') s | $(count 'apphost cold') |"
    echo "| \`dotnet run --project AppHost --no-build\`, warm | **$(of 'apphost warm') s** (AppHost's own count: $(of 'apphost warm own') s) | $(spread 'apphost warm') s | $(count 'apphost warm') |"
    echo "| \`${COMPOSE[*]} up -d\` + health, cold | **$(of 'compose cold') s** | $(spread 'compose cold') s | $(count 'compose cold') |"
    echo "| \`${COMPOSE[*]} up -d\` + health, warm | **$(of 'compose warm') s** | $(spread 'compose warm') s | $(count 'compose warm') |"
    echo
    echo "Cold: AppHost / compose **$cold_ratio** (target ≤ 1.5: $(verdict "$cold_ratio" 1.5)). Warm AppHost / cold compose"
    echo "**$warm_ratio** (target ≤ 1.0: $(verdict "$warm_ratio" 1.0)); warm / warm $warm_warm. Load average (1 min) at the start of each"
    echo "measurement: $(range "${loads[@]}"). Cold: no data volume and no AppHost postgres container; warm: started again"
    echo "right after it stopped. $WARMUP warm-up round(s) per side not counted; order alternates (odd rounds AppHost first)."
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
    for image in "$POSTGRES_IMAGE" "$PROCESSING_IMAGE" "$JUPYTER_BASE_IMAGE" "$JUPYTER_IMAGE" "$RUNNER_BASE_IMAGE" "$RUNNER_IMAGE"; do echo "- $(image_line "$image")"; done
} > "$report"
echo
sed -n '3,12p' "$report"
echo "Report: $report"
[ -n "${samples['apphost cold']:-}" ] && [ -n "${samples['compose cold']:-}" ]
