"""The demo book's fixed priors: mixes, scales and scheme tables, each with its source.

Figures quoted from /work/shared/design/DOMAIN.md say so; every other figure is an assumption
chosen to look like a Chinese technology-SME IP-pledge book, explained in docs/demo-data.md.
Category names are the contracts' allowed values (a test checks they match).
"""

from __future__ import annotations

# --- firms -----------------------------------------------------------------------------------
SECTOR_SHARES: dict[str, float] = {  # assumption: Zhongguancun-like mix, software-heavy
    "ai_software": 0.20,
    "electronics_semiconductors": 0.15,
    "biotech_pharma": 0.10,
    "medical_devices": 0.10,
    "new_materials": 0.10,
    "advanced_manufacturing": 0.15,
    "new_energy": 0.10,
    "information_telecom": 0.10,
}
REGION_SHARES: dict[str, float] = {  # assumption: Beijing (Zhongguancun, Zhirongbao) heavy
    "beijing": 0.30,
    "guangdong": 0.15,
    "jiangsu": 0.12,
    "zhejiang": 0.10,
    "shanghai": 0.08,
    "shandong": 0.07,
    "hubei": 0.05,
    "sichuan": 0.05,
    "other": 0.08,
}
OWNERSHIP_SHARES: dict[str, float] = {"private": 0.82, "mixed": 0.08, "state_owned": 0.05, "foreign_invested": 0.05}

# Median R&D expense over revenue by sector (assumption; biotech spends most).
RD_MEDIAN: dict[str, float] = {
    "ai_software": 0.12, "electronics_semiconductors": 0.09, "biotech_pharma": 0.18, "medical_devices": 0.10,
    "new_materials": 0.05, "advanced_manufacturing": 0.05, "new_energy": 0.06, "information_telecom": 0.10,
}
# High-tech enterprise certification R&D thresholds (2016 administrative measures): 5% of revenue
# below CNY 50m, 4% up to CNY 200m, 3% above.
HNTE_RD_THRESHOLDS: tuple[tuple[float, float], ...] = ((5.0e7, 0.05), (2.0e8, 0.04), (float("inf"), 0.03))

# --- patents ---------------------------------------------------------------------------------
RIGHT_TYPES: tuple[str, ...] = ("invention", "utility_model", "design")
RIGHT_TYPE_MIX: dict[str, tuple[float, float, float]] = {  # (invention, utility model, design); assumption
    "ai_software": (0.70, 0.25, 0.05),
    "electronics_semiconductors": (0.55, 0.40, 0.05),
    "biotech_pharma": (0.85, 0.14, 0.01),
    "medical_devices": (0.45, 0.45, 0.10),
    "new_materials": (0.60, 0.38, 0.02),
    "advanced_manufacturing": (0.35, 0.55, 0.10),
    "new_energy": (0.50, 0.45, 0.05),
    "information_telecom": (0.65, 0.30, 0.05),
}
STATUTORY_TERM_YEARS: dict[str, int] = {"invention": 20, "utility_model": 10, "design": 15}
DESIGN_TERM_BEFORE_2021_06_01 = 10  # the 2020 Patent Law amendment raised designs to 15 years from 2021-06-01
# Grant lag from filing, lognormal (median years, log-sd); CNIPA reports invention pendency of roughly
# 1.5-2 years; utility models and designs get no substantive examination.
GRANT_LAG: dict[str, tuple[float, float]] = {"invention": (2.0, 0.30), "utility_model": (0.6, 0.35), "design": (0.45, 0.35)}
# Legal status on the appraisal date (granted, pending, lapsed, invalidated); non-granted kept rare.
LEGAL_STATUSES: tuple[str, ...] = ("granted", "pending", "lapsed", "invalidated")
LEGAL_STATUS_MIX: dict[str, tuple[float, float, float, float]] = {
    "invention": (0.935, 0.045, 0.015, 0.005),
    "utility_model": (0.975, 0.0, 0.020, 0.005),
    "design": (0.980, 0.0, 0.017, 0.003),
}
# Main IPC subclasses by sector (pattern ^[A-H][0-9]{2}[A-Z]$); 10% of patents come from another sector's list.
IPC_BY_SECTOR: dict[str, tuple[str, ...]] = {
    "ai_software": ("G06F", "G06N", "G06Q", "G06T", "G06V", "G10L"),
    "electronics_semiconductors": ("H01L", "H05K", "H03K", "G11C", "H01Q", "H03F"),
    "biotech_pharma": ("A61K", "A61P", "C12N", "C07D", "C07K", "C12Q"),
    "medical_devices": ("A61B", "A61M", "A61F", "A61N", "G16H", "A61L"),
    "new_materials": ("C08L", "C08K", "C04B", "C22C", "B32B", "C01B"),
    "advanced_manufacturing": ("B23K", "B25J", "B23Q", "G05B", "F16H", "B65G"),
    "new_energy": ("H01M", "H02J", "H02S", "F03D", "H02M", "C25B"),
    "information_telecom": ("H04L", "H04W", "H04B", "H04N", "H04M", "G06F"),
}
IPC_CROSS_SECTOR_SHARE = 0.10
# Median true value of one granted, mid-life patent of a firm with CNY 30m revenue (CNY; assumption
# tuned so that about 72.5% of loans are under CNY 10m, DOMAIN.md's CNIPA H1-2023 figure).
BASE_VALUE: dict[str, float] = {"invention": 1.2e7, "utility_model": 3.6e6, "design": 1.6e6}
SECTOR_VALUE_SCALE: dict[str, float] = {
    "ai_software": 1.0, "electronics_semiconductors": 1.1, "biotech_pharma": 1.3, "medical_devices": 1.1,
    "new_materials": 0.8, "advanced_manufacturing": 0.8, "new_energy": 0.9, "information_telecom": 1.0,
}
# Value multiplier by legal status: a pending right may still be refused, a lapsed or invalidated one
# is nearly worthless as collateral.
STATUS_VALUE: dict[str, float] = {"granted": 1.0, "pending": 0.45, "lapsed": 0.08, "invalidated": 0.02}
# Appraisal: log-bias and log-sd of appraised/true value by method (assumption: income forecasts
# overstate, cost understates, market comparables are tightest), and the method mix.
APPRAISAL_METHODS: tuple[str, ...] = ("cost", "market", "income")
APPRAISAL_METHOD_MIX: tuple[float, float, float] = (0.25, 0.20, 0.55)
APPRAISAL_LOG_BIAS: dict[str, float] = {"cost": -0.10, "market": 0.0, "income": 0.15}
APPRAISAL_LOG_SD: dict[str, float] = {"cost": 0.30, "market": 0.22, "income": 0.40}

# --- loans -----------------------------------------------------------------------------------
# LTV caps by right type at a conservative bank (DOMAIN.md: invention 25%, utility model 15%; designs
# are not named, assumed 10%, the bottom of the 10%-60% practice range).
LTV_CAP_BY_TYPE: dict[str, float] = {"invention": 0.25, "utility_model": 0.15, "design": 0.10}
TERM_MONTHS: tuple[int, ...] = (6, 12, 24, 36)
TERM_MIX: tuple[float, ...] = (0.12, 0.58, 0.20, 0.10)  # assumption: mostly one-year working-capital loans
# One-year loan prime rate, yearly average (PBoC LPR, rounded; 2018 is the one-year benchmark rate).
LPR_1Y: dict[int, float] = {2018: 0.0435, 2019: 0.0425, 2020: 0.0390, 2021: 0.0385, 2022: 0.0370, 2023: 0.0355, 2024: 0.0335}
LPR_DEFAULT = 0.0350

# Government risk-compensation schemes from DOMAIN.md, as (name, compensation, insurance, guarantee):
#   Zhuhai: bank 60% / fund 40%; Shenzhen: fund:bank 1:1; Zhongshan: fund:bank:insurer:appraiser =
#   54:26:16:4 (the appraiser's 4% is recorded as a guarantee-like third-party cover); Weihai:
#   province 40% + city 20%. Other regions get a generic city fund at Zhuhai's 40% or Shenzhen's 50%.
FUND_SCHEMES: dict[str, tuple[float, float, float]] = {
    "zhuhai": (0.40, 0.0, 0.0),
    "shenzhen": (0.50, 0.0, 0.0),
    "zhongshan": (0.54, 0.16, 0.04),
    "weihai": (0.60, 0.0, 0.0),
    "city_40": (0.40, 0.0, 0.0),
    "city_50": (0.50, 0.0, 0.0),
}
FUND_SCHEMES_BY_REGION: dict[str, tuple[tuple[str, float], ...]] = {
    "guangdong": (("zhuhai", 0.3), ("shenzhen", 0.5), ("zhongshan", 0.2)),
    "shandong": (("weihai", 1.0),),
}
FUND_SCHEMES_OTHER: tuple[tuple[str, float], ...] = (("city_40", 0.5), ("city_50", 0.5))

# --- dated events and the lapse process (docs/demo-data.md, "Dated events") ----------------------
# The register snapshot the event tables are cut at: events up to this date are recorded, later ones
# are not (so a recent loan's patents carry citations and lapses dated after its origination).
EVENT_SNAPSHOT = "2025-12-31"
# Forward citations arrive as a Poisson process with cumulative intensity mu * age**CITATION_AGE_POWER
# (age in years since filing), so the count by the appraisal date keeps its negative-binomial law.
CITATION_AGE_POWER = 1.1
# Lawsuits and invalidation requests recorded before the appraisal are dated uniformly between filing
# (grant for invalidation) and the appraisal; later ones arrive at these yearly rates x e^{0.5 theta}
# (assumption: of the order of the snapshot counts spread over a patent's first years).
LITIGATION_RATE_PER_YEAR = 0.008
INVALIDATION_RATE_PER_YEAR = 0.005
# Lapse (a right ended by unpaid annual fees) after the appraisal: hazard per year
# lambda_type * exp(LAPSE_AGE_SLOPE * age) * sector factor * exp(-LAPSE_QUALITY_SLOPE * (log quality - QUALITY_REFERENCE))
# (assumption: annual fees rise with age, valuable rights are renewed — Pakes & Schankerman [D]; the
# levels give roughly 30-40% of inventions and 55-65% of utility models ending before their term, in the
# range of CNIPA's renewal statistics, where fewer than half of domestic inventions reach year 10).
LAPSE_BASE_HAZARD: dict[str, float] = {"invention": 0.020, "utility_model": 0.060, "design": 0.070}
LAPSE_AGE_SLOPE = 0.10
LAPSE_QUALITY_SLOPE = 0.8
LAPSE_LATE_FEE_FACTOR = 1.3  # per late maintenance fee: a sign the owner hesitates to renew
# Sectors with short technology cycles let rights go sooner (assumption).
LAPSE_SECTOR_FACTOR: dict[str, float] = {
    "ai_software": 1.6, "electronics_semiconductors": 1.3, "information_telecom": 1.3, "biotech_pharma": 0.6,
    "medical_devices": 0.8, "new_materials": 1.0, "advanced_manufacturing": 1.0, "new_energy": 1.0,
}
