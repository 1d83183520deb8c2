-- Version 1 of the data model. Timestamps are local time (Asia/Shanghai) without zone;
-- coordinates are WGS-84 degrees. References between tables are checked by the importer
-- and the data checks, not by FOREIGN KEY constraints, so that imports can update rows.
-- Each table starts with the columns of the published data model, in their order, so that
-- positional inserts keep working; columns added for the mission follow, all optional.
-- Beyond ids, completeness is the importer's job: NOT NULL stays only where no figure can
-- do without the value.

CREATE TABLE meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE subdistricts (
    subdistrict_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    geometry_wkt VARCHAR
);

CREATE TABLE communities (
    community_id VARCHAR PRIMARY KEY,
    subdistrict_id VARCHAR,
    name VARCHAR,
    lat DOUBLE,
    lon DOUBLE,
    geometry_wkt VARCHAR
);

CREATE TABLE grids (
    grid_id VARCHAR PRIMARY KEY,
    community_id VARCHAR,
    name VARCHAR,
    geometry_wkt VARCHAR,
    households INTEGER CHECK (households >= 0),
    party_branch VARCHAR
);

CREATE TABLE buildings (
    building_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR,
    name VARCHAR,
    lat DOUBLE,
    lon DOUBLE,
    households INTEGER CHECK (households >= 0),
    units INTEGER CHECK (units >= 1)
);

CREATE TABLE people (
    person_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR,
    building_id VARCHAR,
    name VARCHAR,
    gender VARCHAR,
    birth_year INTEGER CHECK (birth_year BETWEEN 1900 AND 2100),
    is_party_member BOOLEAN DEFAULT false,
    party_member_status VARCHAR CHECK (party_member_status IN ('employed', 'not_employed')),
    unit_no INTEGER,
    CHECK (party_member_status IS NULL OR is_party_member)
);

CREATE TABLE person_roles (
    person_id VARCHAR NOT NULL,
    role VARCHAR NOT NULL CHECK (role IN ('grid_leader', 'grid_worker', 'building_leader',
        'unit_leader', 'volunteer', 'community_worker', 'first_secretary', 'cadre', 'property_staff')),
    since DATE,
    until DATE,
    community_id VARCHAR,
    grid_id VARCHAR,
    building_id VARCHAR,
    unit_no INTEGER,
    org_id VARCHAR,
    CHECK (until IS NULL OR since IS NULL OR until >= since)
);

CREATE TABLE organizations (
    org_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR,
    name VARCHAR,
    org_type VARCHAR CHECK (org_type IN ('merchant', 'property_company',
        'co_building_unit', 'social_org', 'enterprise')),
    lat DOUBLE,
    lon DOUBLE,
    has_party_branch BOOLEAN DEFAULT false
);

CREATE TABLE volunteer_teams (
    team_id VARCHAR PRIMARY KEY,
    community_id VARCHAR,
    name VARCHAR,
    grid_id VARCHAR,
    founded_on DATE
);

CREATE TABLE team_members (
    team_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    joined_on DATE,
    PRIMARY KEY (team_id, person_id)
);

CREATE TABLE volunteer_activities (
    activity_id BIGINT PRIMARY KEY,
    person_id VARCHAR NOT NULL,
    team_id VARCHAR,
    grid_id VARCHAR,
    started_at TIMESTAMP NOT NULL,
    hours DECIMAL(5, 1) CHECK (hours > 0 AND hours <= 24),
    kind VARCHAR
);

CREATE TABLE credit_indicators (
    indicator_code VARCHAR PRIMARY KEY,
    subject_type VARCHAR CHECK (subject_type IN ('person', 'org')),
    category VARCHAR,
    name VARCHAR,
    points DECIMAL(8, 2),
    valid_from DATE,
    valid_to DATE,
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);

-- Append-only: a correction is a new event with reverses_event_id set, never an UPDATE.
CREATE TABLE credit_events (
    event_id BIGINT PRIMARY KEY,
    subject_type VARCHAR NOT NULL CHECK (subject_type IN ('person', 'org')),
    subject_id VARCHAR NOT NULL,
    indicator_code VARCHAR,
    points DECIMAL(8, 2) NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP,
    recorded_by VARCHAR,
    reverses_event_id BIGINT,
    note VARCHAR
);

CREATE TABLE redemption_scenarios (
    scenario_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    category VARCHAR,
    points_cost DECIMAL(8, 2) CHECK (points_cost >= 0),
    value_yuan DECIMAL(10, 2) CHECK (value_yuan >= 0),
    min_level VARCHAR,
    partner VARCHAR
);

CREATE TABLE redemptions (
    redemption_id BIGINT PRIMARY KEY,
    person_id VARCHAR NOT NULL,
    scenario_id VARCHAR,
    points DECIMAL(8, 2) CHECK (points >= 0),
    redeemed_at TIMESTAMP NOT NULL
);

CREATE TABLE tickets (
    ticket_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR,
    category VARCHAR,
    channel VARCHAR,
    title VARCHAR,
    lat DOUBLE,
    lon DOUBLE,
    department VARCHAR,
    filed_by VARCHAR
);

-- seq orders events within a ticket when timestamps tie; it may be left out.
CREATE TABLE ticket_events (
    ticket_id VARCHAR NOT NULL,
    step VARCHAR NOT NULL CHECK (step IN ('filed', 'accepted', 'discussed', 'decided', 'rated',
        'published', 'escalated', 'reopened')),
    occurred_at TIMESTAMP NOT NULL,
    actor_id VARCHAR,
    note VARCHAR,
    seq INTEGER
);

CREATE TABLE ticket_ratings (
    ticket_id VARCHAR NOT NULL,
    rater_kind VARCHAR CHECK (rater_kind IN ('party_member', 'resident')),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    rated_at TIMESTAMP,
    rating_id BIGINT
);

CREATE TABLE facilities (
    facility_id VARCHAR PRIMARY KEY,
    facility_type VARCHAR CHECK (facility_type IN ('party_service_center', 'red_station',
        'deliberation_hall', 'courtyard_council', 'charging_shed', 'charging_pile',
        'new_employment_station', 'grid_home', 'elderly_canteen')),
    name VARCHAR,
    community_id VARCHAR,
    grid_id VARCHAR,
    lat DOUBLE,
    lon DOUBLE,
    capacity INTEGER CHECK (capacity >= 0),
    opened_on DATE
);

CREATE TABLE property_evaluations (
    org_id VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL CHECK (regexp_full_match(quarter, '\d{4}Q[1-4]')),
    evaluator VARCHAR NOT NULL,
    score DECIMAL(5, 1) CHECK (score BETWEEN 0 AND 100),
    PRIMARY KEY (org_id, quarter, evaluator)
);

CREATE TABLE micro_wishes (
    wish_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR,
    category VARCHAR,
    title VARCHAR,
    filed_at TIMESTAMP,
    fulfilled_at TIMESTAMP,
    CHECK (fulfilled_at IS NULL OR filed_at IS NULL OR fulfilled_at >= filed_at)
);

-- 一办七组: who is assigned where for emergencies (平时服务、战时应急).
CREATE TABLE emergency_assignments (
    person_id VARCHAR NOT NULL,
    community_id VARCHAR NOT NULL,
    group_code VARCHAR NOT NULL,
    PRIMARY KEY (person_id, community_id)
);
