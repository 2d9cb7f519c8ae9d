#!/usr/bin/env bash
# DataStack's test command: every .NET and Python test that can run on this machine.
#
# It installs nothing. When a prerequisite is missing it stops and says what to install. The only tests it
# ever skips are the AppHost projects, and only when the Aspire packages cannot be restored from the
# configured NuGet sources - then it says so on one loud SKIPPED line.
set -uo pipefail
cd "$(dirname "$0")"

PYTHON=${DATASTACK_PYTHON:-/usr/bin/python3}
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

passed=0; failed=0; skipped=0; status=0

# Adds the counts of a 'dotnet test' log ("Failed: 0, Passed: 14, Skipped: 0, Total: 14") to the totals.
count_dotnet() {
    local line
    while read -r line; do
        failed=$((failed + $(sed -E 's/.*Failed: *([0-9]+).*/\1/' <<<"$line")))
        passed=$((passed + $(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$line")))
        skipped=$((skipped + $(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$line")))
    done < <(grep -E '(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+' "$1")
}

# --- .NET ------------------------------------------------------------------------------------------------
test_projects=()
for project in tests/*/*.csproj; do
    grep -q '<IsTestProject>true</IsTestProject>' "$project" || continue
    case "$project" in
        tests/AppHost.Tests/*) ;;  # decided below
        *) test_projects+=("$project") ;;
    esac
done

if [ -f AppHost/AppHost.csproj ]; then
    if dotnet restore AppHost/AppHost.csproj >"$LOGS/apphost-restore.log" 2>&1 \
        && { [ ! -f tests/AppHost.Tests/AppHost.Tests.csproj ] || dotnet restore tests/AppHost.Tests/AppHost.Tests.csproj >>"$LOGS/apphost-restore.log" 2>&1; }; then
        [ -f tests/AppHost.Tests/AppHost.Tests.csproj ] && test_projects+=(tests/AppHost.Tests/AppHost.Tests.csproj)
        dotnet build AppHost/AppHost.csproj -c "$CONFIGURATION" --no-restore -nologo -v q || status=1
    else
        reason=$(grep -oE '(error [A-Z]+[0-9]+: [^[]{0,140})' "$LOGS/apphost-restore.log" | head -n 1)
        echo "SKIPPED: AppHost, AppHost.Tests - the Aspire 13.5.2 packages cannot be restored from the configured NuGet sources (${reason:-restore failed}). All other tests ran."
    fi
fi

dotnet build Processing/Processing.csproj -c "$CONFIGURATION" -nologo -v q >"$LOGS/build.log" 2>&1 || { cat "$LOGS/build.log"; exit 1; }
export DATASTACK_PROCESSING_DLL="$PWD/Processing/bin/$CONFIGURATION/net10.0/Processing.dll"

for project in "${test_projects[@]}"; do
    echo "=== dotnet test $project"
    log="$LOGS/$(basename "$project").log"
    dotnet test "$project" -c "$CONFIGURATION" -nologo 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    grep -qE '(Passed|Failed)! +- +Failed' "$log" || { echo "test.sh: $project ran no tests or did not build" >&2; status=1; }
    count_dotnet "$log"
done

# --- Python: the datastack package and the getting-started notebook, against a live Processing ----------
if [ -d tests/python ]; then
    echo "=== pytest tests/python"
    log="$LOGS/pytest.log"
    "$PYTHON" -m pytest tests/python -p no:cacheprovider -rs 2>&1 | tee "$log"
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
