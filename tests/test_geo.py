"""The WGS-84 -> GCJ-02 shift against published reference points, and its inverse."""

import numpy as np
import pytest
import shapely

from analytics import geo

# (WGS-84 lon, lat) -> (GCJ-02 lon, lat), as published with two independent implementations:
# the test tables of eviltransform (Shanghai, Shenzhen, Beijing) and of coordtransform (Tiananmen).
REFERENCE = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
]
TOLERANCE_METRES = 0.05


@pytest.mark.parametrize("wgs, gcj", REFERENCE)
def test_wgs84_to_gcj02_matches_the_reference_points(wgs, gcj):
    lon, lat = geo.wgs84_to_gcj02(*wgs)
    assert geo.metres_between(lon, lat, *gcj) < TOLERANCE_METRES
    # The shift itself is hundreds of metres: a transform that did nothing would fail above.
    assert geo.metres_between(*wgs, *gcj) > 300


@pytest.mark.parametrize("wgs, gcj", REFERENCE)
def test_gcj02_to_wgs84_inverts_the_shift(wgs, gcj):
    lon, lat = geo.gcj02_to_wgs84(*gcj)
    assert geo.metres_between(lon, lat, *wgs) < TOLERANCE_METRES


def test_the_shift_works_on_arrays_and_leaves_places_outside_china_alone():
    lon, lat = geo.wgs84_to_gcj02([116.404, 2.35], [39.915, 48.86])
    assert geo.metres_between(lon[0], lat[0], 116.41024449916938, 39.91640428150164) < TOLERANCE_METRES
    assert (lon[1], lat[1]) == (2.35, 48.86)  # Paris


def test_in_huantai_the_shift_is_a_few_hundred_metres():
    lon, lat = geo.wgs84_to_gcj02(118.10, 36.96)
    assert 300 < geo.metres_between(118.10, 36.96, lon, lat) < 800


def test_the_county_outline_is_drawn_back_in_wgs84():
    """The DataV outline is GCJ-02: shifted back, its shape is the same and its place moves by the shift."""
    raw, wgs = geo.county_outline(), geo.county_outline_wgs84()
    x, y = shapely.get_coordinates(raw).T
    u, v = shapely.get_coordinates(wgs).T
    back = np.column_stack(geo.wgs84_to_gcj02(u, v))
    assert np.abs(back - np.column_stack([x, y])).max() < 1e-8
    moved = geo.metres_between(x, y, u, v)
    assert 300 < moved.min() and moved.max() < 800


def test_metres_between_along_a_meridian():
    # R × Δφ: 6,371,008.8 m × 0.01 × π/180 = 1,111.950802 m.
    assert geo.metres_between(118.1, 36.95, 118.1, 36.96) == pytest.approx(1111.950802, abs=1e-5)
