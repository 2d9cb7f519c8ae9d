"""Against a live stack (PostgreSQL + Processing): upload, read back, modes, profile, transform, errors."""

import datetime as dt
import os

import pytest

from prereq import need

need("pandas", "numpy", "psycopg", "requests")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psycopg  # noqa: E402

import datastack as ds  # noqa: E402
from stack import eventually  # noqa: E402


def sample_frame():
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "amount": [1.5, np.nan, -2.25],
            "ok": [True, False, True],
            "label": ["plain", 'comma, and "quotes"', None],
            "at": pd.to_datetime(["2024-01-05 08:13:00", "2024-01-06 00:00:00", None]),
            "at_tz": pd.to_datetime(["2024-01-05 08:13:00", "2024-07-05 08:13:00", "2024-12-31 23:59:59"]).tz_localize("Europe/Paris"),
            "day": [dt.date(2024, 1, 5), None, dt.date(2024, 2, 29)],
        }
    )


def test_upload_dataframe_keeps_types_and_reads_back_equal(client, name):
    """A DataFrame's values and types survive upload() -> Processing -> sql()."""
    frame = sample_frame()
    dataset = client.upload(frame, name)
    assert dataset.row_count == 3
    assert dataset.dtypes == {
        "id": "bigint",
        "amount": "double precision",
        "ok": "boolean",
        "label": "text",
        "at": "timestamp without time zone",
        "at_tz": "timestamp with time zone",
        "day": "date",
    } or dataset.dtypes == {
        "id": "bigint",
        "amount": "double precision",
        "ok": "boolean",
        "label": "text",
        "at": "timestamp",
        "at_tz": "timestamptz",
        "day": "date",
    }
    back = client.sql(f"select * from datasets.{name} order by id")
    assert back["id"].tolist() == [1, 2, 3]
    assert back["amount"].iloc[0] == 1.5 and np.isnan(back["amount"].iloc[1]) and back["amount"].iloc[2] == -2.25
    assert back["ok"].tolist() == [True, False, True]
    assert back["label"].tolist() == ["plain", 'comma, and "quotes"', None]
    assert back["at"].iloc[0] == pd.Timestamp("2024-01-05 08:13:00") and pd.isna(back["at"].iloc[2])
    assert back["at_tz"].tolist() == frame["at_tz"].dt.tz_convert("UTC").tolist()
    assert back["day"].tolist() == [dt.date(2024, 1, 5), None, dt.date(2024, 2, 29)]


def test_upload_dataframe_takes_types_from_the_dtypes_not_from_the_values(client, name):
    """Digits in a str column stay text (leading zeros kept); Int64 with NA, uint8, float32, category map by dtype."""
    frame = pd.DataFrame(
        {
            "code": ["007", "042", None],
            "n": pd.array([1, None, 3], dtype="Int64"),
            "small": np.array([0, 255, 7], dtype="uint8"),
            "ratio": np.array([0.5, np.nan, 2.0], dtype="float32"),
            "kind": pd.Categorical(["a", "b", "a"]),
        }
    )
    dataset = client.upload(frame, name, chunk_rows=2)
    assert dataset.dtypes == {"code": "text", "n": "bigint", "small": "bigint", "ratio": "double precision", "kind": "text"}
    back = client.sql(f"select * from datasets.{name} order by small")
    assert back["code"].tolist() == ["007", None, "042"]
    assert back["n"].tolist()[:2] == [1, 3] and pd.isna(back["n"].tolist()[2])
    assert back["kind"].tolist() == ["a", "a", "b"]


def test_a_value_postgresql_cannot_hold_stops_the_upload_and_leaves_nothing(client, name, stack):
    """A NUL inside a string (third batch) raises ValueError naming the column; no dataset, no job, no staged table."""
    frame = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c\0d"]})
    with pytest.raises(ValueError, match="'s'"):
        client.upload(frame, name, chunk_rows=1)
    assert name not in [d.name for d in client.datasets()]
    # The server rolls the staged rows back when it notices the aborted body, which may be after the client raised.
    eventually(lambda: _set_aside_tables(stack) == [], 10, "the aborted upload's staged tables rolled back", interval=0.05)
    assert [job for job in client.jobs(limit=1000) if job.raw.get("args", {}).get("dataset") == name] == []


def _set_aside_tables(stack) -> list[str]:
    """Staged uploads and replaced tables in schema datasets (none once every upload has ended)."""
    import psycopg

    with psycopg.connect(stack.postgres.uri) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'datasets' AND (relname LIKE 'upload-%' OR relname LIKE 'replaced-%')"
        ).fetchall()
    return [r[0] for r in rows]


def test_upload_path_streams_the_sample_file(client, name, stack):
    """upload(path) ingests trips.csv: 2,000 rows, typed columns, quoted commas intact, empty fields NULL."""
    dataset = client.upload(stack.repo / "data" / "samples" / "trips.csv", name)
    assert dataset.row_count == 2000
    types = dataset.dtypes
    assert types["trip_id"] == "bigint" and types["fare"] == "double precision" and types["paid_by_card"] == "boolean"
    assert types["pickup_at"].startswith("timestamp") and types["zone"] == "text"
    counts = client.sql(
        f"select count(*) as n, count(*) filter (where zone like '%,%') as comma_zones, "
        f"count(*) filter (where passengers is null) as no_passengers from datasets.{name}"
    )
    assert counts["n"][0] == 2000 and counts["comma_zones"][0] > 0 and counts["no_passengers"][0] > 0
    first = client.sql(f"select pickup_at, fare from datasets.{name} where trip_id = 1")
    assert first["pickup_at"][0] == pd.Timestamp("2024-01-02 03:23:00") and first["fare"][0] == 7.69


def test_ingest_reads_a_file_from_the_shared_data_folder(client, name):
    """ingest() takes a path relative to the data folder Processing sees."""
    dataset = client.ingest("samples/trips.csv", name)
    assert dataset.row_count == 2000


def test_fail_mode_refuses_an_existing_dataset(client, name):
    """mode='fail' (the default) raises ConflictError when the dataset exists."""
    client.upload(pd.DataFrame({"a": [1]}), name)
    with pytest.raises(ds.ConflictError) as e:
        client.upload(pd.DataFrame({"a": [2]}), name)
    assert "409" in str(e.value) and "mode='replace'" in str(e.value)


def test_append_adds_rows_and_replace_swaps_them(client, name):
    """append keeps the old rows; replace leaves only the new ones."""
    client.upload(pd.DataFrame({"a": [1, 2]}), name)
    assert client.upload(pd.DataFrame({"a": [3]}), name, mode="append").row_count == 3
    assert client.sql(f"select a from datasets.{name} order by a")["a"].tolist() == [1, 2, 3]
    assert client.upload(pd.DataFrame({"a": [9]}), name, mode="replace").row_count == 1
    assert client.sql(f"select a from datasets.{name}")["a"].tolist() == [9]


def test_large_frame_is_sent_in_several_chunks(client, name):
    """A frame bigger than one chunk arrives whole and in order."""
    frame = pd.DataFrame({"n": np.arange(25_000), "x": np.arange(25_000) / 7})
    dataset = client.upload(frame, name, chunk_rows=4_000)
    assert dataset.row_count == 25_000
    stats = client.sql(f"select min(n) as lo, max(n) as hi, sum(n) as total from datasets.{name}")
    assert (stats["lo"][0], stats["hi"][0], stats["total"][0]) == (0, 24_999, sum(range(25_000)))


def test_bad_csv_fails_the_job_naming_row_and_column(client, name, tmp_path):
    """A malformed file fails with the row and column of the problem; the previous version stays."""
    client.upload(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), name)
    bad = tmp_path / "bad.csv"
    bad.write_text('a,b\n1,x\n2,"unterminated\n')
    with pytest.raises(ds.JobFailed) as e:
        client.upload(bad, name, mode="replace")
    assert e.value.row is not None
    assert "row" in str(e.value)
    assert client.sql(f"select count(*) as n from datasets.{name}")["n"][0] == 2


def test_ragged_row_names_row_and_column(client, name, tmp_path):
    """A row with too many fields is reported with its row and column."""
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(ds.JobFailed) as e:
        client.upload(bad, name)
    assert e.value.row is not None and e.value.column is not None
    assert f"row {e.value.row}" in str(e.value) and f"column {e.value.column}" in str(e.value)


def test_profile_returns_one_row_per_column(client, name):
    """profile() runs the job and returns the statistics as a DataFrame indexed by column."""
    client.upload(pd.DataFrame({"n": [1, 2, 3, None], "s": ["a", "a", "b", None]}).astype({"n": "Int64"}), name)
    profile = client.profile(name)
    assert set(profile.index) == {"n", "s"}
    assert profile.loc["n", "nulls"] == 1 and profile.loc["n", "min"] in (1, "1") and profile.loc["n", "max"] in (3, "3")
    assert profile.loc["s", "distinct"] == 2
    assert profile.attrs["row_count"] == 4
    assert client.dataset(name).profile is not None


def test_transform_materialises_a_query(client, name):
    """transform() creates a dataset from a SELECT over datasets.*."""
    source = name + "_src"
    client.upload(pd.DataFrame({"g": ["a", "a", "b"], "v": [1.0, 2.0, 5.0]}), source)
    dataset = client.transform(name, f"select g, sum(v) as total from datasets.{source} group by g")
    assert dataset.row_count == 2
    back = client.sql(f"select g, total from datasets.{name} order by g")
    assert back.to_dict("list") == {"g": ["a", "b"], "total": [3.0, 5.0]}


def test_datasets_and_jobs_list_what_was_done(client, name):
    """datasets() includes a new dataset and jobs() includes its ingest job."""
    dataset = client.upload(pd.DataFrame({"a": [1]}), name)
    assert name in {d.name for d in client.datasets()}
    jobs = client.jobs(limit=200)
    assert any(j.id == dataset.job_id and j.kind == "ingest" and j.status == "succeeded" for j in jobs)


def test_delete_removes_the_dataset(client, name):
    """delete() drops the dataset; dataset() then raises NotFoundError."""
    client.upload(pd.DataFrame({"a": [1]}), name)
    client.delete(name)
    with pytest.raises(ds.NotFoundError):
        client.dataset(name)


def test_wrong_api_key_is_a_401_naming_the_variable(stack):
    """A refused key raises AuthenticationError with the status and a hint, never the key."""
    client = ds.connect(api_key="not-the-key-123", progress=False)
    with pytest.raises(ds.AuthenticationError) as e:
        client.datasets()
    assert e.value.status == 401
    assert "401" in str(e.value) and "DATASTACK_API_KEY" in str(e.value)
    assert "not-the-key-123" not in str(e.value) and stack.processing.api_key not in str(e.value)


def test_upload_with_wrong_key_fails_before_sending_data(stack, name):
    """upload() with a refused key raises AuthenticationError (not a broken pipe)."""
    client = ds.connect(api_key="wrong", progress=False)
    with pytest.raises(ds.AuthenticationError):
        client.upload(pd.DataFrame({"a": range(1000)}), name)


def test_unreachable_processing_is_reported_with_its_url(stack):
    """A Processing URL nobody listens on gives 'cannot reach Processing at URL'."""
    from stack import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ds.ProcessingUnreachable) as e:
        ds.connect(processing_url=url, progress=False).datasets()
    assert str(e.value).startswith(f"cannot reach Processing at {url}")


def test_sql_works_from_the_npgsql_connection_string_alone(stack, monkeypatch):
    """With only ConnectionStrings__analytics set (quoted password with ; = ' @), sql() logs in."""
    monkeypatch.delenv("ANALYTICS_URI")
    client = ds.connect(progress=False)
    assert client.postgres.source == "ConnectionStrings__analytics"
    assert client.sql("select current_user as u, current_database() as d").iloc[0].tolist() == ["datastack", "analytics"]


def test_database_checks_the_password(stack):
    """TCP logins need the right password (SCRAM), so the contract's password is really used."""
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=stack.postgres.port, user="datastack", password="wrong", dbname="analytics").close()
    client = ds.connect(analytics=os.environ["ANALYTICS_URI"].replace("@127.0.0.1", "x@127.0.0.1"), progress=False)
    with pytest.raises(ds.DataStackError) as e:
        client.sql("select 1")
    assert "cannot connect to PostgreSQL" in str(e.value) and stack.postgres.password not in str(e.value)


def test_sql_resolves_dataset_names_as_a_transform_does(client, name):
    """A bare dataset name means the same table in sql() as in a transform: schema datasets first."""
    client.upload(pd.DataFrame({"a": [1, 2, 3]}), name)
    client.transform(f"{name}_sum", f"select sum(a) as total from {name}")
    assert client.sql(f"select count(*) as n from {name}").iloc[0]["n"] == 3
    assert client.sql(f"select total from {name}_sum").iloc[0]["total"] == 6
    assert client.sql("show search_path").iloc[0, 0].replace(" ", "") == "datasets,public"


def test_sql_result_types_follow_postgres_types(client):
    """sql() maps bigint/boolean/double/timestamptz/numeric to pandas dtypes, nullable when NULLs appear."""
    frame = client.sql(
        "select * from (values (1::bigint, true, 1.5::float8, '2024-01-05 08:13+00'::timestamptz, 2.5::numeric),"
        " (null, null, null, null, null)) v(i, b, f, t, n)"
    )
    assert str(frame["i"].dtype) == "Int64" and str(frame["b"].dtype) == "boolean"
    assert str(frame["f"].dtype) == "float64" and str(frame["n"].dtype) == "float64"
    assert str(frame["t"].dtype) == "datetime64[ns, UTC]"
