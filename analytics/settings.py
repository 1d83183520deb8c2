"""Every rule the committees may want to change, in one place.

Metric functions read these as defaults; a caller may pass its own values.
"""

# 红旗网格: how many grids per community are named each quarter (ties at the cut all qualify).
RED_FLAGS_PER_COMMUNITY = 1

# 公示期: the monthly publication is posted on the first working day after the month and stays up
# this many working days (that day included); appeals raised in it are to be decided by its last
# day, and an appeal raised later within this many working days of being raised.
PUBLICITY_WORKDAYS = 7

# A red-flag grid (and its excellent worker) with an open integrity flag, an open appeal or ledger
# lines off the catalogue is 待核实. "award": named all the same, marked 待核实; "withhold": not
# named until checked, the next grid of its community without open checks taking its place.
AWARD_PENDING_CHECK = "award"

# 优秀网格员: the current grid worker of every red-flag grid, provided the grid's tickets
# published in the quarter were rated at least this well on average (None = no condition).
EXCELLENT_WORKER_MIN_RATING: float | None = None

# Credit levels by balance (net points ever recorded up to the date), highest first:
# (code, label, minimum balance). The last rung catches every balance below the one above.
CREDIT_LEVELS = [
    ("honesty_model", "诚信模范", 300),
    ("excellent", "守信优秀", 150),
    ("good", "守信良好", 60),
    ("qualified", "信用合格", 0),
    ("warning", "信用警示", None),
]

# 红灰榜 of organisations for a month: red = net points at least RED_MIN_POINTS with no
# deduction; grey = a single deduction of GREY_DEDUCTION or worse, or a negative net.
RED_LIST_MIN_POINTS = 10
GREY_LIST_DEDUCTION = -10

# The six-step clock: working days allowed to reach each step from the one before.
STEP_DEADLINE_WORKDAYS = {"accepted": 1, "discussed": 3, "decided": 5, "rated": 10, "published": 2}
# Categories whose work takes longer: overrides of the steps above.
CATEGORY_DEADLINE_WORKDAYS = {
    "renovation": {"rated": 30},
    "facilities": {"rated": 15},
    "safety": {"accepted": 0.5},
}
# A step is near due once this share of its allowed time is used.
NEAR_DUE_SHARE = 0.8

# Data quality: a ticket filed and published within this many minutes was not really handled.
TOO_FAST_MINUTES = 60

# Integrity checks on a grid's quarter (patterns that would inflate its ranking).
QUARTER_END_DAYS = 7            # the last days of the quarter...
QUARTER_END_SHARE = 0.35        # ...holding more than this share of the quarter's points
RECORDER_SHARE = 0.6            # one recorder awarding more than this share of the points
HISTORY_RATIO = 2.0             # average credit above this multiple of the previous four quarters'
INTEGRITY_MIN_POINTS = 50       # grids with fewer positive points in the quarter are not judged

# The 10-minute party-mass service circle.
SERVICE_CIRCLE_METRES = 800
SERVICE_CIRCLE_FACILITIES = ("party_service_center", "red_station")
CHARGING_FACILITIES = ("charging_shed", "charging_pile")

# The grid map's basemap. "none" (the default) fetches nothing: the map draws the county outline and
# the subdistrict and community boundaries and names from the data. "tianditu": 天地图's vector map
# and labels, in CGCS2000 (WGS-84 to well under a metre), with the key set in .streamlit/secrets.toml
# as [map] tianditu_key = "..." (天地图 issues keys to registered users). "amap": 高德's road map, in
# GCJ-02, every layer is shifted to match; use it only under AMap's terms. "xyz": MAP_TILE_URL, any
# {z}/{x}/{y} raster tile template (the county's own tile server), in GCJ-02 if MAP_TILE_GCJ02.
MAP_BASEMAP = "none"
MAP_TILE_URL = ""
MAP_TILE_GCJ02 = False

# Time. Every time is stored and shown in the county's zone, whatever the server's; a time written
# with an offset (2020-01-31T20:00:00-08:00, ...Z) is converted to it on import.
COUNTY_TIMEZONE = "Asia/Shanghai"
# Dates an import believes: from the first day of this year...
EARLIEST_YEAR = 2000
# ...to this many years after today (planned dates: a term's end, a catalogue's expiry).
LATEST_YEARS_AHEAD = 1
# Times of what happened (a ledger event, a ticket step) may lie this many days after the import day.
FUTURE_TOLERANCE_DAYS = 1

# Reading and checking an uploaded file runs in a child process with these limits (ingest.guard).
IMPORT_MEMORY_MB = 4096
IMPORT_SECONDS = 900

# 综合考评: the composite grid evaluation beside the credit ranking. Each component is scored 0-100
# within the grid's community (credit: the grid's average as a share of the community's best;
# on_time: steps completed within their deadline; rework: tickets not reopened after publication;
# satisfaction: the mean rating out of 5); the composite is their weighted mean over the components
# a grid has figures for. 红旗网格 stay on credit alone, as the article describes.
EVALUATION_WEIGHTS = {"credit": 0.4, "on_time": 0.25, "rework": 0.15, "satisfaction": 0.2}
