#!/usr/bin/env bash
# DataStack's test command: every .NET and Python test that can run on this machine.
#
# It installs nothing. When a prerequisite is missing it stops and says what to install. The tests that need
# Docker (the whole stack under the AppHost, Processing's deploy image) run when a container runtime answers;
# without one they are skipped with one loud line and counted as skipped - except on CI (CI=true), where
# they fail naming what is missing.
set -uo pipefail
cd "$(dirname "$0")"

PYTHON=${DATASTACK_PYTHON:-/usr/bin/python3}
# The OpenTelemetry SDK for the Python tests: tests/python/install-opentelemetry.sh puts it here (README, Prerequisites).
OTEL_SDK=${DATASTACK_OTEL_SDK:-/opt/datastack/opentelemetry}
CONFIGURATION=${CONFIGURATION:-Debug}
LOGS=$(mktemp -d -t datastack-test-XXXXXX)
trap 'rm -rf "$LOGS"' EXIT

# --- prerequisites (checked, never installed) ------------------------------------------------------------
missing=()
command -v dotnet >/dev/null 2>&1 || missing+=("the .NET 10 SDK (dotnet)")
if [ -z "${PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    missing+=("PostgreSQL server binaries: apt-get install postgresql (or set PG_BIN)")
fi
if [ ! -x "$PYTHON" ]; then
    missing+=("Python 3 at $PYTHON (or set DATASTACK_PYTHON)")
else
    for module in pandas:python3-pandas psycopg:python3-psycopg requests:python3-requests pytest:python3-pytest \
                  tqdm:python3-tqdm nbclient:python3-nbclient nbformat:python3-nbformat ipykernel:python3-ipykernel \
                  matplotlib:python3-matplotlib; do
        "$PYTHON" -c "import ${module%%:*}" >/dev/null 2>&1 || missing+=("Python module ${module%%:*}: apt-get install ${module##*:}")
    done
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: missing prerequisites (nothing was run):" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    echo "On Debian/Ubuntu, .ci/run installs all of them." >&2
    exit 2
fi

# The OpenTelemetry SDK is needed by the tracing tests only: without it they are skipped with one loud line
# (and counted as skipped), except on CI, where they fail naming what is missing.
otel_problem=""
if [ -x "$PYTHON" ] && ! PYTHONPATH="$OTEL_SDK${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -W ignore -c \
        'import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.grpc.trace_exporter, opentelemetry.exporter.otlp.proto.http.trace_exporter, opentelemetry.instrumentation.requests, opentelemetry.instrumentation.psycopg' >/dev/null 2>&1; then
    otel_problem="the OpenTelemetry SDK does not import from $OTEL_SDK: run tests/python/install-opentelemetry.sh as root (it needs ../shared/wheelhouse beside the checkout, or DATASTACK_WHEELHOUSE)"
    if [ "${CI:-}" = "true" ]; then
        echo "test.sh: CI=true but $otel_problem. The tracing tests will fail." >&2
    else
        echo "SKIPPED (counted below): the Python tracing tests, because $otel_problem."
    fi
fi

passed=0; failed=0; skipped=0; status=0

# Adds the counts of a 'dotnet test' log to the totals: the one-line summary ("Failed: 0, Passed: 14,
# Skipped: 0, Total: 14") or, at detailed verbosity, the block ("Total tests: 14" / "Passed: 14" / ...).
count_dotnet() {
    local line
    if grep -qE '(Passed|Failed)! +- +Failed: +[0-9]+' "$1"; then
        while read -r line; do
            failed=$((failed + $(sed -E 's/.*Failed: *([0-9]+).*/\1/' <<<"$line")))
            passed=$((passed + $(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$line")))
            skipped=$((skipped + $(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$line")))
        done < <(grep -E '(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+' "$1")
    else
        local block
        block=$(sed -n '/^Total tests: [0-9]/,/Total time:/p' "$1")
        passed=$((passed + $(grep -oE '^ *Passed: *[0-9]+' <<<"$block" | grep -oE '[0-9]+' || echo 0)))
        failed=$((failed + $(grep -oE '^ *Failed: *[0-9]+' <<<"$block" | grep -oE '[0-9]+' || echo 0)))
        skipped=$((skipped + $(grep -oE '^ *Skipped: *[0-9]+' <<<"$block" | grep -oE '[0-9]+' || echo 0)))
    fi
}

# --- .NET ------------------------------------------------------------------------------------------------
test_projects=()
for project in tests/*/*.csproj; do
    grep -q '<IsTestProject>true</IsTestProject>' "$project" && test_projects+=("$project")
done

dotnet build Processing/Processing.csproj -c "$CONFIGURATION" -nologo -v q >"$LOGS/build.log" 2>&1 || { cat "$LOGS/build.log"; exit 1; }
dotnet build AppHost/AppHost.csproj -c "$CONFIGURATION" -nologo -v q >"$LOGS/apphost.log" 2>&1 || { cat "$LOGS/apphost.log"; exit 1; }
export DATASTACK_PROCESSING_DLL="$PWD/Processing/bin/$CONFIGURATION/net10.0/Processing.dll"

# The container tests: say once, loudly, when they cannot run here.
if ! docker info >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
        echo "test.sh: CI=true but no Docker engine answers ('docker info' failed): the stack tests will fail. .ci/run installs docker.io and starts dockerd." >&2
    else
        echo "SKIPPED (counted below): the tests that need Docker - the whole stack under the AppHost and Processing's deploy image - because 'docker info' failed. Install and start Docker to run them."
    fi
elif ! docker image inspect "${DATASTACK_PROCESSING_IMAGE:-datastack-processing:dev}" >/dev/null 2>&1; then
    # Processing's deploy image, built the way a user builds it (SDK container support, public base image).
    # Offline machines build it from stand-ins first: tests/images/build-processing-image.sh (.ci/run does).
    echo "=== dotnet publish Processing -t:PublishContainer (the deploy image the container tests run)"
    dotnet publish Processing/Processing.csproj -c Release -t:PublishContainer -p:ContainerImageTags=dev -nologo -v q >"$LOGS/image.log" 2>&1 \
        || { echo "test.sh: Processing's image could not be built; ProcessingImageTests will fail. Offline: tests/images/build-processing-image.sh" >&2; tail -n 5 "$LOGS/image.log" >&2; }
fi

for project in "${test_projects[@]}"; do
    echo "=== dotnet test $project"
    log="$LOGS/$(basename "$project").log"
    verbosity=()
    # The stack tests print what they measured (time to healthy, the trace they followed).
    [ "$project" = tests/AppHost.Tests/AppHost.Tests.csproj ] && verbosity=(--logger "console;verbosity=detailed")
    dotnet test "$project" -c "$CONFIGURATION" -nologo "${verbosity[@]}" 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    grep -qE '(Passed|Failed)! +- +Failed|^Total tests: [0-9]' "$log" || { echo "test.sh: $project ran no tests or did not build" >&2; status=1; }
    count_dotnet "$log"
done

# --- Python: the datastack package and the getting-started notebook, against a live Processing ----------
if [ -d tests/python ]; then
    echo "=== pytest tests/python"
    log="$LOGS/pytest.log"
    DATASTACK_OTEL_SDK="$OTEL_SDK" "$PYTHON" -m pytest tests/python -p no:cacheprovider -rs 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    summary=$(grep -E '^=+ .*(passed|failed|error).* =+$' "$log" | tail -n 1)
    passed=$((passed + $(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)))
    for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$summary" | grep -oE '^[0-9]+'); do failed=$((failed + n)); done
    [ -n "$summary" ] || { echo "test.sh: pytest printed no summary" >&2; status=1; }
    skipped=$((skipped + $(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+' || echo 0)))
fi

echo
echo "DataStack: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit $status
