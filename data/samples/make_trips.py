"""Regenerate trips.csv: a small, deterministic taxi-trip sample for the getting-started notebook.

Run with any Python 3 (standard library only): python3 data/samples/make_trips.py
The output is byte-for-byte stable for a given ROWS and SEED.
"""

import csv
import pathlib
import random
from datetime import datetime, timedelta

ROWS = 2000
SEED = 20240105
ZONES = [
    "Downtown",
    "Airport",
    "Harbour",
    "University",
    "Old Town",
    "Riverside, North",  # embedded comma: must be quoted
    "Riverside, South",
    'Market "Hall"',  # embedded quotes: doubled inside a quoted field
    "Station",
    "Tech Park",
]


def main() -> None:
    rng = random.Random(SEED)
    start = datetime(2024, 1, 1)
    out = pathlib.Path(__file__).with_name("trips.csv")
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["trip_id", "pickup_at", "dropoff_at", "passengers", "distance_km", "fare", "paid_by_card", "zone"])
        for i in range(1, ROWS + 1):
            pickup = start + timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
            distance = round(rng.lognormvariate(1.3, 0.6), 2)
            minutes = max(3, int(distance * rng.uniform(1.8, 3.5)))
            dropoff = pickup + timedelta(minutes=minutes)
            fare = round(3.5 + distance * 1.9 + minutes * 0.25, 2)
            passengers = rng.choices([1, 2, 3, 4, 5], weights=[60, 22, 9, 6, 3])[0]
            card = rng.random() < 0.7
            zone = rng.choice(ZONES)
            row = [
                i,
                pickup.strftime("%Y-%m-%d %H:%M:%S"),
                dropoff.strftime("%Y-%m-%d %H:%M:%S"),
                passengers,
                distance,
                fare,
                "true" if card else "false",
                zone,
            ]
            # A few holes, as real exports have: unknown passengers, fare or zone.
            r = rng.random()
            if r < 0.02:
                row[3] = ""
            elif r < 0.03:
                row[5] = ""
            elif r < 0.04:
                row[7] = ""
            w.writerow(row)


if __name__ == "__main__":
    main()
