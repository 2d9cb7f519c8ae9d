#!/usr/bin/env bash
# DataStack benchmarks: one command, one PostgreSQL server, every contender alternating round by round.
#   ./bench/run.sh [--rows 1000000] [--rounds 5] [--quick] [--no-big] [--only ingest,pandas,queue,tracing,memory,python]
# Prerequisites (checked, not installed): .NET 10 SDK, PostgreSQL server binaries + psql,
# /usr/bin/python3 with pandas, numpy, psycopg, requests, SQLAlchemy and psycopg2
# (apt-get install python3-sqlalchemy python3-psycopg2: bookworm's SQLAlchemy 1.4 has no psycopg 3 dialect).
# Results: stdout and bench/results/<timestamp>.md (gitignored). See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${DATASTACK_PYTHON:-/usr/bin/python3}
missing=()
command -v dotnet >/dev/null 2>&1 || missing+=("the .NET 10 SDK (dotnet)")
ls /usr/lib/postgresql/*/bin/psql >/dev/null 2>&1 || [ -n "${PG_BIN:-}" ] || missing+=("PostgreSQL server binaries and psql: apt-get install postgresql")
for module in pandas:python3-pandas numpy:python3-numpy psycopg:python3-psycopg requests:python3-requests sqlalchemy:python3-sqlalchemy psycopg2:python3-psycopg2; do
    "$PYTHON" -c "import ${module%%:*}" >/dev/null 2>&1 || missing+=("Python module ${module%%:*}: apt-get install ${module##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/run.sh: missing prerequisites:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 2
fi

dotnet build Processing/Processing.csproj -c Release -nologo -v q
dotnet build bench/DataStack.Bench/DataStack.Bench.csproj -c Release -nologo -v q
export DATASTACK_PROCESSING_DLL="$PWD/Processing/bin/Release/net10.0/Processing.dll"
exec dotnet bench/DataStack.Bench/bin/Release/net10.0/DataStack.Bench.dll --python "$PYTHON" "$@"
