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
# The same check as the tests' (tests/python/prereq.py: the modules datastack.tracing and the OTLP receivers import).
if [ -x "$PYTHON" ] && ! PYTHONPATH="$OTEL_SDK:tests/python${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -W ignore -c \
        'import sys, prereq; sys.exit(prereq.opentelemetry_missing() is not None)' >/dev/null 2>&1; then
    otel_problem="the OpenTelemetry SDK does not import from $OTEL_SDK: run tests/python/install-opentelemetry.sh as root (it needs ../shared/wheelhouse beside the checkout, or DATASTACK_WHEELHOUSE)"
    if [ "${CI:-}" = "true" ]; then
        echo "test.sh: CI=true but $otel_problem. The tracing tests will fail." >&2
    else
        echo "SKIPPED (counted below): the Python tracing tests, because $otel_problem."
    fi
fi

passed=0; failed=0; skipped=0; status=0

# Adds the counts of a test run's result file to the totals. dotnet test writes TRX (its <Counters>: a skipped xUnit
# test is "notExecuted"); pytest writes JUnit XML (<testsuite tests= failures= errors= skipped=>). Returns non-zero when
# the file is missing (the run did not get as far as writing it).
xml_attribute() { grep -oE " $1=\"[0-9]+\"" <<<"$2" | grep -oE '[0-9]+' || echo 0; }   # $1 = name, $2 = a start tag

count_trx() {
    local counters
    counters=$(grep -oE '<Counters [^>]*>' "$1" 2>/dev/null | head -n 1) || return 1
    [ -n "$counters" ] || return 1
    attribute() { xml_attribute "$1" "$counters"; }
    passed=$((passed + $(attribute passed)))
    failed=$((failed + $(attribute failed) + $(attribute error) + $(attribute timeout) + $(attribute aborted)))
    skipped=$((skipped + $(attribute notExecuted)))
}

count_junit() {
    local suite tests failures errors skips
    suite=$(grep -oE '<testsuite [^>]*>' "$1" 2>/dev/null | head -n 1) || return 1
    [ -n "$suite" ] || return 1
    attribute() { xml_attribute "$1" "$suite"; }
    tests=$(attribute tests); failures=$(attribute failures); errors=$(attribute errors); skips=$(attribute skipped)
    passed=$((passed + tests - failures - errors - skips))
    failed=$((failed + failures + errors))
    skipped=$((skipped + skips))
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
elif ! image_created=$(docker image inspect -f '{{.Created}}' "${DATASTACK_PROCESSING_IMAGE:-datastack-processing:dev}" 2>/dev/null) \
     || [ -n "$(find Processing ServiceDefaults \( -name bin -o -name obj \) -prune -o -name '*.cs' -newermt "$image_created" -print -quit)" ]; then
    # Processing's deploy image, built the way a user builds it (SDK container support, public base image), when it
    # is missing or older than Processing's code. Offline machines build it from stand-ins first:
    # tests/images/build-processing-image.sh (.ci/run does).
    echo "=== dotnet publish Processing -t:PublishContainer (the deploy image the container tests run: missing or older than the code)"
    dotnet publish Processing/Processing.csproj -c Release -t:PublishContainer -p:ContainerImageTags=dev -nologo -v q >"$LOGS/image.log" 2>&1 \
        || { echo "test.sh: Processing's image could not be built; ProcessingImageTests will fail. Offline: tests/images/build-processing-image.sh" >&2; tail -n 5 "$LOGS/image.log" >&2; }
fi

for project in "${test_projects[@]}"; do
    echo "=== dotnet test $project"
    name=$(basename "$project" .csproj)
    verbosity=()
    # The stack tests print what they measured (time to healthy, the trace they followed).
    [ "$project" = tests/AppHost.Tests/AppHost.Tests.csproj ] && verbosity=(--logger "console;verbosity=detailed")
    dotnet test "$project" -c "$CONFIGURATION" -nologo "${verbosity[@]}" \
        --logger "trx;LogFileName=$name.trx" --results-directory "$LOGS/$name"
    [ $? -eq 0 ] || status=1
    count_trx "$LOGS/$name/$name.trx" || { echo "test.sh: $project wrote no results ($name.trx): it ran no tests or did not build" >&2; status=1; }
done

# --- Python: the datastack package and the getting-started notebook, against a live Processing ----------
if [ -d tests/python ]; then
    echo "=== pytest tests/python"
    DATASTACK_OTEL_SDK="$OTEL_SDK" "$PYTHON" -m pytest tests/python -p no:cacheprovider -rs --junitxml="$LOGS/pytest.xml"
    [ $? -eq 0 ] || status=1
    count_junit "$LOGS/pytest.xml" || { echo "test.sh: pytest wrote no results (pytest.xml)" >&2; status=1; }
fi

echo
echo "DataStack: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit $status
