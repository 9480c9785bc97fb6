"""Benchmark of the point → grid lookup (wangge.regions.locate) on the Xicheng demo district.

Run from the repository root: ``make bench`` or ``.venv/bin/python bench/locate.py [--markdown]``.

The script builds the demo district 110102 (≈2,480 unit grids, ≈1,620 social grids) into a
throwaway SQLite database (or the scratch database of ``--database-url``), then times, against
points drawn uniformly in the district's bounding box:

* ``grid_at`` one call at a time (median and p99 per call),
* ``grid_positions_at`` and ``grids_at`` in bulk (points/s, median of several runs),
* the baseline measured in the same run: Shapely's vectorised ``contains_xy`` over every polygon,
  with no spatial index (prepared polygons), and a plain Python loop over prepared polygons,
* PostGIS ``ST_Contains`` with a GiST index, when the extension is available on the server.

It checks that single, bulk, baseline and PostGIS answers agree, and prints the figures with a
PASS/FAIL against the targets of the issue. The targets are figures, not tests: the exit status is
0 whatever the figures, and 1 only when the answers disagree.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import results
import shapely

ROOT = Path(__file__).resolve().parents[1]
DISTRICT = "110102"
SEED = 2026
TARGET_SINGLE_US = 20.0
TARGET_BULK_RATE = 500_000.0
POSTGIS_DB = "wangge_bench_postgis"


@dataclass(frozen=True)
class Sizes:
    single: int  # grid_at calls timed one by one
    bulk: int  # points per grid_positions_at run
    bulk_runs: int
    refs: int  # points per grids_at run
    base_bulk: int  # points per baseline (no index) bulk run
    base_bulk_runs: int
    base_single: int  # baseline single lookups, vectorised over polygons
    base_loop: int  # baseline single lookups, Python loop over polygons
    edge: int  # grid vertices checked against the smallest-code rule
    pg_single: int
    pg_bulk: int
    pg_bulk_runs: int


FULL = Sizes(20_000, 1_000_000, 5, 200_000, 20_000, 3, 2_000, 200, 1_000, 20_000, 1_000_000, 3)
QUICK = Sizes(5_000, 200_000, 5, 50_000, 5_000, 1, 500, 50, 300, 5_000, 200_000, 1)


@dataclass
class Row:
    what: str
    size: str
    median_us: float | None = None
    p99_us: float | None = None
    rate: float | None = None
    ratio: float | None = None  # speed-up over the baseline of its layer (>1: faster)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    targets: list[tuple[str, bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append((name, ok, detail))
        print(f"  check {'ok  ' if ok else 'FAIL'} {name}: {detail}")


# --- set-up ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and runs")
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    parser.add_argument(
        "--database-url",
        help="run against this (scratch!) database instead of a throwaway SQLite file; "
        "the demo district is migrated and imported into it",
    )
    parser.add_argument(
        "--postgis",
        default="host=127.0.0.1 port=5432 user=postgres dbname=postgres",
        help="libpq conninfo of a maintenance database of the PostGIS server "
        f"(a scratch database {POSTGIS_DB!r} is created and dropped there)",
    )
    parser.add_argument("--no-postgis", action="store_true", help="skip the PostGIS comparison")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random points")
    parser.add_argument(
        "--json", metavar="PATH", help="also write the result there (read by bench/report.py)"
    )
    return parser.parse_args(argv)


def setup_django(database_url: str | None) -> Path:
    """Point Django at a temporary var dir (and database) and migrate; returns the temp dir."""
    var_dir = Path(tempfile.mkdtemp(prefix="wangge-bench-"))
    os.environ["WANGGE_DEBUG"] = "1"
    os.environ["WANGGE_VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "wangge.settings"
    os.environ.setdefault("WANGGE_LOG_LEVEL", "WARNING")
    if database_url:
        os.environ["WANGGE_DATABASE_URL"] = database_url
    else:
        os.environ.pop("WANGGE_DATABASE_URL", None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return var_dir


def load_demo() -> tuple[float, float, float, float]:
    """Build and import the demo district; returns its bounding box (lng/lat)."""
    from wangge.demo.territory import build_territory
    from wangge.regions.models import Region
    from wangge.regions.services import territory_import

    started = time.perf_counter()
    data = build_territory(DISTRICT, ROOT / "wangge" / "demo" / "data", seed=SEED)
    built = time.perf_counter()
    report = territory_import(data=data, actor=None)
    if not report.ok:
        raise SystemExit(f"demo import failed: {report.problems[:5]}")
    print(
        f"demo district {DISTRICT}: {len(data['features'])} features built in "
        f"{built - started:.1f} s, imported in {time.perf_counter() - built:.1f} s"
    )
    district = Region.objects.get(code=DISTRICT)
    return district.min_lng, district.min_lat, district.max_lng, district.max_lat


def load_layer(layer: str) -> tuple[list[str], np.ndarray]:
    """Codes and prepared polygons of a layer, in code order (the order of locate's refs)."""
    from wangge.regions.models import Grid

    rows = list(
        Grid.objects.filter(layer_id=layer).order_by("code").values_list("code", "boundary_wkb")
    )
    geoms = shapely.from_wkb([bytes(wkb) for _, wkb in rows])
    shapely.prepare(geoms)
    return [code for code, _ in rows], geoms


def environment(database: str) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} × {cpu}; Python {platform.python_version()}, "
        f"Shapely {shapely.__version__}, GEOS {shapely.geos_version_string}, "
        f"NumPy {np.__version__}; Django database: {database}"
    )


# --- timing helpers ----------------------------------------------------------------------------


def time_calls(
    fn: Callable[[float, float], Any], xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, list[Any]]:
    """Time every call of fn(x, y) with perf_counter_ns; GC off as in timeit."""
    xl, yl = xs.tolist(), ys.tolist()  # Python floats, as a caller would pass them
    for x, y in zip(xl[:200], yl[:200], strict=True):  # warm-up
        fn(x, y)
    out: list[Any] = [None] * len(xl)
    ns = np.empty(len(xl), dtype=np.int64)
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for i, (x, y) in enumerate(zip(xl, yl, strict=True)):
            t0 = clock()
            result = fn(x, y)
            ns[i] = clock() - t0
            out[i] = result
    finally:
        gc.enable()
    return ns, out


def time_runs(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median wall time of ``runs`` calls of fn(), and the last result."""
    seconds = []
    result = None
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - t0)
    return float(np.median(seconds)), result


def stats_us(ns: np.ndarray) -> tuple[float, float]:
    return float(np.median(ns)) / 1e3, float(np.percentile(ns, 99)) / 1e3


# --- baseline: no index ------------------------------------------------------------------------


def brute_positions(
    geoms: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    predicate: Callable[..., np.ndarray] = shapely.contains_xy,
) -> np.ndarray:
    """For each point the first (smallest-code) polygon satisfying predicate, or -1; no index."""
    positions = np.full(len(xs), -1, dtype=np.int64)
    for i, polygon in enumerate(geoms):
        hit = predicate(polygon, xs, ys)
        hit &= positions < 0
        positions[hit] = i
    return positions


def brute_single_vectorised(geoms: np.ndarray, x: float, y: float) -> int:
    hits = np.flatnonzero(shapely.contains_xy(geoms, x, y))
    return int(hits[0]) if hits.size else -1


def brute_single_loop(geoms: list[Any], x: float, y: float) -> int:
    point = shapely.Point(x, y)
    for i, polygon in enumerate(geoms):
        if polygon.contains(point):
            return i
    return -1


# --- one layer ---------------------------------------------------------------------------------


def bench_layer(
    layer: str,
    sizes: Sizes,
    rng: np.random.Generator,
    bbox: tuple[float, float, float, float],
    report: Report,
) -> dict[str, Any]:
    from wangge.lib.coords import from_wgs84_array
    from wangge.regions import locate

    codes, geoms = load_layer(layer)
    label = f"{layer} ({len(codes):,} grids)"
    print(f"\n== layer {label}")
    t0 = time.perf_counter()
    locate.invalidate()
    locate.grid_at(bbox[0], bbox[1], layer)  # builds the STRtree of the layer
    print(f"  index built in {(time.perf_counter() - t0) * 1e3:.0f} ms")
    _, refs = locate.grid_positions_at([bbox[0]], [bbox[1]], layer)
    report.check(
        f"{layer}: locate refs in code order",
        [r.code for r in refs] == codes,
        f"{len(refs):,} refs",
    )

    def uniform(n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.uniform(bbox[0], bbox[2], n), rng.uniform(bbox[1], bbox[3], n)

    # a. single lookups
    sx, sy = uniform(sizes.single)
    ns, single = time_calls(lambda x, y: locate.grid_at(x, y, layer), sx, sy)
    med, p99 = stats_us(ns)
    ours_single = Row(f"grid_at, {layer}", f"{sizes.single:,} calls", med, p99)
    hit = np.array([r is not None for r in single])
    inside = float(hit.mean())
    print(f"  grid_at: median {med:.1f} µs, p99 {p99:.1f} µs; {inside:.1%} of points inside a grid")

    # a'. the same points through the door every caller uses (typed result; GCJ-02 conversion)
    door_rows = []
    for crs in ("wgs84", "gcj02"):
        px, py = (sx, sy) if crs == "wgs84" else from_wgs84_array(sx, sy, crs)
        ns_door, located = time_calls(
            lambda x, y, c=crs: locate.locate_point(x, y, crs=c, layers=(layer,)), px, py
        )
        med_d, p99_d = stats_us(ns_door)
        door_rows.append(
            Row(f"locate_point {crs}, {layer}", f"{sizes.single:,} calls", med_d, p99_d)
        )
        print(f"  locate_point ({crs}): median {med_d:.1f} µs, p99 {p99_d:.1f} µs")
        report.check(
            f"{layer}: locate_point({crs}) == grid_at",
            [r.grid(layer) for r in located] == single,
            f"{sizes.single:,} points",
        )

    # b. bulk
    bx, by = uniform(sizes.bulk)
    seconds, (positions, _) = time_runs(
        lambda: locate.grid_positions_at(bx, by, layer), sizes.bulk_runs
    )
    ours_bulk = Row(
        f"grid_positions_at, {layer}",
        f"{sizes.bulk:,} pts × {sizes.bulk_runs}",
        rate=sizes.bulk / seconds,
    )
    inside_bulk = float(np.mean(positions >= 0))
    print(f"  grid_positions_at: {ours_bulk.rate:,.0f} points/s; {inside_bulk:.1%} inside")
    pairs = np.column_stack((bx[: sizes.refs], by[: sizes.refs]))
    seconds, grid_refs = time_runs(lambda: locate.grids_at(pairs, layer), sizes.bulk_runs)
    ours_refs = Row(
        f"grids_at, {layer}", f"{sizes.refs:,} pts × {sizes.bulk_runs}", rate=sizes.refs / seconds
    )
    print(f"  grids_at: {ours_refs.rate:,.0f} points/s")

    # c. baseline, no index
    nb = sizes.base_bulk
    seconds, base_positions = time_runs(
        lambda: brute_positions(geoms, bx[:nb], by[:nb]), sizes.base_bulk_runs
    )
    base_bulk = Row(
        f"baseline bulk: contains_xy × every polygon, {layer}",
        f"{nb:,} pts × {sizes.base_bulk_runs}",
        rate=nb / seconds,
    )
    ns_vec, base_single = time_calls(
        lambda x, y: brute_single_vectorised(geoms, x, y),
        sx[: sizes.base_single],
        sy[: sizes.base_single],
    )
    med_b, p99_b = stats_us(ns_vec)
    base_one = Row(
        f"baseline single: contains_xy over every polygon, {layer}",
        f"{sizes.base_single:,} calls",
        med_b,
        p99_b,
    )
    geom_list = list(geoms)
    ns_loop, base_loop = time_calls(
        lambda x, y: brute_single_loop(geom_list, x, y),
        sx[: sizes.base_loop],
        sy[: sizes.base_loop],
    )
    med_l, p99_l = stats_us(ns_loop)
    base_py = Row(
        f"baseline single: Python loop of prepared .contains, {layer}",
        f"{sizes.base_loop:,} calls",
        med_l,
        p99_l,
        ratio=med_b / med_l,
    )
    print(
        f"  baseline: bulk {base_bulk.rate:,.0f} points/s, single {med_b:.1f} µs (vectorised), "
        f"{med_l:.1f} µs (Python loop)"
    )
    ours_single.ratio = med_b / med
    report.notes.append(
        f"grid_at, {layer}: median {np.median(ns[hit]) / 1e3:.1f} µs for points inside a grid, "
        f"{np.median(ns[~hit]) / 1e3:.1f} µs outside; × {med_l / med:,.0f} faster than the "
        "Python loop"
    )
    ours_bulk.ratio = ours_bulk.rate / base_bulk.rate
    ours_refs.ratio = ours_refs.rate / base_bulk.rate
    base_bulk.ratio = base_one.ratio = 1.0
    report.rows += [ours_single, *door_rows, ours_bulk, ours_refs, base_one, base_py, base_bulk]

    # 3. correctness
    index_of = {code: i for i, code in enumerate(codes)}
    single_pos = np.array([-1 if r is None else index_of[r.code] for r in single])
    bulk_of_single, _ = locate.grid_positions_at(sx, sy, layer)
    report.check(
        f"{layer}: grid_at == grid_positions_at",
        bool(np.array_equal(single_pos, bulk_of_single)),
        f"{int(np.sum(single_pos != bulk_of_single))} of {len(sx):,} differ",
    )
    expected_refs = [refs[p] if p >= 0 else None for p in positions[: sizes.refs].tolist()]
    report.check(
        f"{layer}: grids_at == grid_positions_at",
        grid_refs == expected_refs,
        f"{sizes.refs:,} points",
    )
    differ = np.flatnonzero(positions[:nb] != base_positions)
    on_edge = 0
    for i in differ.tolist():
        candidates = [p for p in (positions[i], base_positions[i]) if p >= 0]
        boundaries = shapely.boundary(geoms[candidates])
        on_edge += bool(np.any(shapely.intersects_xy(boundaries, bx[i], by[i])))
    report.check(
        f"{layer}: bulk == baseline off edges",
        on_edge == len(differ),
        f"{len(differ)} of {nb:,} differ, {on_edge} of them on an edge",
    )
    loops = np.array(base_loop)
    report.check(
        f"{layer}: baseline single == baseline bulk",
        bool(
            np.array_equal(loops, np.array(base_single[: sizes.base_loop]))
            and np.array_equal(np.array(base_single), single_pos[: sizes.base_single])
        ),
        f"{sizes.base_single:,} points (random points fall on no edge)",
    )
    # Grid vertices lie on edges shared by several grids: the smallest code must win, in both paths.
    vertices = np.unique(shapely.get_coordinates(geoms), axis=0)
    vertices = vertices[rng.choice(len(vertices), min(sizes.edge, len(vertices)), replace=False)]
    vx, vy = vertices[:, 0], vertices[:, 1]
    truth = brute_positions(geoms, vx, vy, shapely.intersects_xy)
    edge_bulk, _ = locate.grid_positions_at(vx, vy, layer)
    edge_single = [
        locate.grid_at(x, y, layer) for x, y in zip(vx.tolist(), vy.tolist(), strict=True)
    ]
    edge_single_pos = np.array([-1 if r is None else index_of[r.code] for r in edge_single])
    shared = int(np.sum(shapely.intersects_xy(geoms[:, None], vx[None, :], vy[None, :]).sum(0) > 1))
    report.check(
        f"{layer}: vertices → smallest code",
        bool(np.array_equal(edge_bulk, truth) and np.array_equal(edge_single_pos, truth)),
        f"{len(vx):,} vertices ({shared:,} shared by several grids)",
    )
    return {
        "codes": codes,
        "geoms": geoms,
        "single_xy": (sx, sy),
        "single_pos": single_pos,
        "bulk_xy": (bx, by),
        "bulk_pos": positions,
        "inside": inside_bulk,
        "single_median_us": med,
        "bulk_rate": ours_bulk.rate,
        "base_single_us": med_b,
        "base_bulk_rate": base_bulk.rate,
    }


# --- PostGIS -----------------------------------------------------------------------------------


def bench_postgis(conninfo: str, sizes: Sizes, unit: dict[str, Any], report: Report) -> str | None:
    """ST_Contains with a GiST index on the unit grids; returns the server's versions or None."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        print("\nPostGIS: psycopg is not installed: skipped")
        return None
    print("\n== PostGIS, unit grids")
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        print(f"  PostgreSQL does not answer ({conninfo}): skipped ({str(exc).strip()[:120]})")
        return None
    with admin:
        available = admin.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
        if available is None:
            print(
                "  the PostGIS extension is not available on this server: skipped "
                "(Debian: apt-get install postgresql-15-postgis-3)"
            )
            return None
        db = sql.Identifier(POSTGIS_DB)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(db))
        try:
            params = psycopg.conninfo.conninfo_to_dict(conninfo)
            params["dbname"] = POSTGIS_DB
            with psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True) as conn:
                return _postgis_measure(conn, sizes, unit, report)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
            print(f"  scratch database {POSTGIS_DB} dropped")


def _postgis_measure(conn: Any, sizes: Sizes, unit: dict[str, Any], report: Report) -> str:
    conn.execute("CREATE EXTENSION postgis")
    versions = conn.execute(
        "SELECT split_part(version(), ' ', 2), postgis_lib_version()"
    ).fetchone()
    server = f"PostgreSQL {versions[0]}, PostGIS {versions[1]}"
    print(f"  {server}")
    conn.execute(
        "CREATE TABLE grids (code text PRIMARY KEY, geom geometry(Polygon, 4326) NOT NULL)"
    )
    hexes = shapely.to_wkb(shapely.set_srid(unit["geoms"], 4326), hex=True, include_srid=True)
    with conn.cursor() as cur, cur.copy("COPY grids (code, geom) FROM STDIN") as copy:
        for code, wkb in zip(unit["codes"], hexes.tolist(), strict=True):
            copy.write_row((code, wkb))
    conn.execute("CREATE INDEX grids_geom ON grids USING gist (geom)")
    conn.execute("ANALYZE grids")

    # Single lookup over one persistent connection, server-side prepared statement.
    query = (
        "SELECT code FROM grids WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) "
        "ORDER BY code LIMIT 1"
    )
    sx, sy = unit["single_xy"]
    n = sizes.pg_single
    with conn.cursor() as cur:

        def lookup(x: float, y: float) -> str | None:
            row = cur.execute(query, (x, y), prepare=True).fetchone()
            return row[0] if row else None

        ns, found = time_calls(lookup, sx[:n], sy[:n])
    med, p99 = stats_us(ns)
    print(f"  single: median {med:.1f} µs, p99 {p99:.1f} µs")
    codes = unit["codes"]
    expected = [codes[p] if p >= 0 else None for p in unit["single_pos"][:n].tolist()]
    report.check(
        "PostGIS single == grid_at",
        found == expected,
        f"{sum(a != b for a, b in zip(found, expected, strict=True))} of {n:,} differ",
    )

    # Bulk: a temp table of points loaded by COPY, then one join count.
    bx, by = unit["bulk_xy"]
    m = min(sizes.pg_bulk, len(bx))
    conn.execute("CREATE TEMP TABLE pts (geom geometry(Point, 4326) NOT NULL)")
    t0 = time.perf_counter()
    with conn.cursor() as cur, cur.copy("COPY pts (geom) FROM STDIN") as copy:
        for start in range(0, m, 100_000):
            chunk = shapely.points(bx[start : start + 100_000], by[start : start + 100_000])
            chunk = shapely.to_wkb(shapely.set_srid(chunk, 4326), hex=True, include_srid=True)
            copy.write("\n".join(chunk[: max(0, m - start)].tolist()) + "\n")
    conn.execute("ANALYZE pts")
    load = time.perf_counter() - t0
    join = "SELECT count(*) FROM pts JOIN grids ON ST_Contains(grids.geom, pts.geom)"
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + join).fetchall())
    workers = "Gather" in plan
    seconds, count = time_runs(lambda: conn.execute(join).fetchone()[0], sizes.pg_bulk_runs)
    rate = m / seconds
    print(
        f"  bulk join: {rate:,.0f} points/s ({m:,} points; COPY + ANALYZE {load:.1f} s; "
        f"{'parallel plan' if workers else 'serial plan'}, "
        f"{'GiST index used' if 'grids_geom' in plan else 'NO index in plan'})"
    )
    inside = int(np.sum(unit["bulk_pos"][:m] >= 0))
    report.check(
        "PostGIS join count == grid_positions_at", count == inside, f"{count:,} vs {inside:,}"
    )
    report.rows += [
        Row(
            "PostGIS ST_Contains + GiST, single, unit",
            f"{n:,} calls",
            med,
            p99,
            ratio=unit["base_single_us"] / med,
        ),
        Row(
            "PostGIS ST_Contains + GiST, bulk join, unit",
            f"{m:,} pts × {sizes.pg_bulk_runs}",
            rate=rate,
            ratio=rate / unit["base_bulk_rate"],
        ),
    ]
    report.notes.append(
        f"PostGIS vs ours, unit: grid_at × {med / unit['single_median_us']:.1f} faster, "
        f"grid_positions_at × {unit['bulk_rate'] / rate:.1f} faster"
    )
    report.notes.append(
        f"PostGIS bulk: join only (COPY + ANALYZE of the {m:,} points took {load:.1f} s more), "
        f"{'parallel' if workers else 'serial'} plan."
    )
    return server


# --- output ------------------------------------------------------------------------------------


def _cells(row: Row) -> list[str]:
    def us(v: float | None) -> str:
        return "" if v is None else f"{v:,.1f} µs"

    return [
        row.what,
        row.size,
        us(row.median_us),
        us(row.p99_us),
        "" if row.rate is None else f"{row.rate:,.0f}",
        "" if row.ratio is None else f"× {row.ratio:,.1f}",
    ]


HEADER = ["what", "sample", "median", "p99", "points/s", "vs baseline"]


def print_table(rows: list[Row]) -> None:
    table = [HEADER] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    for k, line in enumerate(table):
        print(
            "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if k == 0:
            print("  ".join("-" * w for w in widths))


def print_markdown(rows: list[Row]) -> None:
    print("| " + " | ".join(HEADER) + " |")
    print("| " + " | ".join(["---", "---", "--:", "--:", "--:", "--:"]) + " |")
    for row in rows:
        print("| " + " | ".join(_cells(row)) + " |")


def write_json(
    args: argparse.Namespace, env: str, layers: dict[str, dict[str, Any]], report: Report
) -> None:
    figures = []
    for layer, r in layers.items():
        figures += [
            {
                "what": f"grid_at, {layer}",
                "unit": "µs median",
                "value": r["single_median_us"],
                "baseline": "Shapely contains_xy over every polygon, no index",
                "baseline_value": r["base_single_us"],
                "ratio": r["base_single_us"] / r["single_median_us"],
            },
            {
                "what": f"grid_positions_at, {layer}",
                "unit": "points/s",
                "value": r["bulk_rate"],
                "baseline": "Shapely contains_xy × every polygon, no index",
                "baseline_value": r["base_bulk_rate"],
                "ratio": r["bulk_rate"] / r["base_bulk_rate"],
            },
        ]
    results.write(
        args.json,
        "locate",
        title="Point → grid lookup",
        software=env,
        tables=[
            results.table(
                "vs baseline: speed-up over the no-index Shapely baseline of the same layer "
                "(> 1 is faster)",
                HEADER,
                [_cells(row) for row in report.rows],
                "llrrrr",
            )
        ],
        figures=figures,
        targets=report.targets,
        notes=report.notes,
        checks=report.checks,
        quick=args.quick,
    )


# --- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    var_dir = setup_django(args.database_url)
    try:
        from django.db import connection

        db_label = connection.vendor + (
            f" {connection.Database.sqlite_version}" if connection.vendor == "sqlite" else ""
        )
        env = environment(db_label)
        print(env)
        bbox = load_demo()
        print(f"bounding box lng {bbox[0]:.5f}..{bbox[2]:.5f}, lat {bbox[1]:.5f}..{bbox[3]:.5f}")
        rng = np.random.default_rng(args.seed)
        report = Report()
        layers = {
            layer: bench_layer(layer, sizes, rng, bbox, report) for layer in ("unit", "social")
        }
        server = None
        if args.no_postgis:
            print("\nPostGIS: skipped (--no-postgis)")
        else:
            server = bench_postgis(args.postgis, sizes, layers["unit"], report)
        if server:
            env += f"; {server}"

        for layer, result in layers.items():
            report.notes.append(
                f"{layer}: {result['inside']:.1%} of the bounding-box points fall in a grid"
            )
            single, rate = result["single_median_us"], result["bulk_rate"]
            report.targets += [
                (
                    f"{layer}: single lookup median ≤ {TARGET_SINGLE_US:.0f} µs",
                    single <= TARGET_SINGLE_US,
                    f"{single:.1f} µs",
                ),
                (
                    f"{layer}: bulk ≥ {TARGET_BULK_RATE:,.0f} points/s",
                    rate >= TARGET_BULK_RATE,
                    f"{rate:,.0f} points/s",
                ),
            ]

        print("\n== figures (vs baseline: speed-up over the no-index Shapely baseline, same layer)")
        print_table(report.rows)
        for note in report.notes:
            print(f"  {note}")
        print("\n== targets")
        for name, ok, value in report.targets:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}: {value}")
        failed = [name for name, ok, _ in report.checks if not ok]
        print(
            f"\n== correctness: {len(report.checks) - len(failed)} of {len(report.checks)} checks ok"
            + (f"; FAILED: {', '.join(failed)}" if failed else "")
        )
        if args.markdown:
            print(f"\nMachine: {env}\n")
            print_markdown(report.rows)
            print()
            for name, ok, value in report.targets:
                print(f"- {'PASS' if ok else 'FAIL'} {name}: {value}")
            for note in report.notes:
                print(f"- {note}")
        write_json(args, env, layers, report)
        print(f"\n(run took {time.perf_counter() - started:.0f} s)")
        return 1 if failed else 0
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
