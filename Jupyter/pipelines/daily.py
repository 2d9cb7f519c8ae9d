"""A day of trips summarised by zone: the pipeline the getting-started notebook grows into.

    client.run("pipelines.daily:summary", day="2024-01-05")

Reads the ``trips`` dataset (``data/samples/trips.csv``) through ``datastack``, computes with pandas and writes
the dataset ``zone_summary`` (replaced on every run, so a second run of the same day gives the same result).
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

import datastack as ds

log = logging.getLogger(__name__)


def summary(day: str, source: str = "trips", target: str = "zone_summary") -> dict[str, object]:
    """Trips, passengers, fares and card share per zone on ``day`` (YYYY-MM-DD), written as dataset ``target``.

    Returns what a caller wants to see at once: the day's totals and the busiest zone.
    """
    start = dt.date.fromisoformat(day)
    client = ds.connect(progress=False)
    client.dataset(source)  # a name that is not a dataset stops here, before it reaches the SQL text
    trips = client.sql(
        f"select zone, passengers, distance_km, fare, paid_by_card from {source} "
        "where pickup_at >= %s and pickup_at < %s",
        (start, start + dt.timedelta(days=1)),
    )
    log.info("%s: %d trips from %s", day, len(trips), source)
    zones = (
        trips.groupby("zone", sort=True, dropna=False)  # trips without a zone count too, as zone NULL
        .agg(
            trips=("fare", "size"),
            passengers=("passengers", "sum"),
            fares=("fare", "sum"),
            mean_distance_km=("distance_km", "mean"),
            card_share=("paid_by_card", "mean"),
        )
        .reset_index()
    )
    zones.insert(0, "day", pd.Timestamp(start))
    zones["fares"] = zones["fares"].round(2)
    zones["mean_distance_km"] = zones["mean_distance_km"].round(3)
    zones["card_share"] = zones["card_share"].astype(float).round(3)
    client.upload(zones, target, mode="replace")
    ranked = zones.dropna(subset=["zone"]).sort_values(["trips", "zone"], ascending=[False, True])
    return {
        "day": day,
        "dataset": target,
        "zones": len(zones),
        "trips": int(zones["trips"].sum()),
        "fares": round(float(zones["fares"].sum()), 2),
        "busiest_zone": str(ranked["zone"].iloc[0]) if len(ranked) else None,
    }
