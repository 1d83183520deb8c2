-- Version 1 of the data model. Timestamps are local time (Asia/Shanghai) without zone;
-- coordinates are WGS-84 degrees. References between tables are checked by the importer
-- and the data checks, not by FOREIGN KEY constraints, so that imports can update rows.

CREATE TABLE meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE subdistricts (
    subdistrict_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    geometry_wkt VARCHAR
);

CREATE TABLE communities (
    community_id VARCHAR PRIMARY KEY,
    subdistrict_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    lat DOUBLE,
    lon DOUBLE,
    geometry_wkt VARCHAR
);

CREATE TABLE grids (
    grid_id VARCHAR PRIMARY KEY,
    community_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    geometry_wkt VARCHAR,
    households INTEGER CHECK (households >= 0),
    party_branch VARCHAR
);

CREATE TABLE buildings (
    building_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    lat DOUBLE,
    lon DOUBLE,
    households INTEGER CHECK (households >= 0),
    units INTEGER CHECK (units >= 1)
);

CREATE TABLE people (
    person_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR,
    building_id VARCHAR,
    unit_no INTEGER,
    name VARCHAR NOT NULL,
    gender VARCHAR CHECK (gender IN ('M', 'F')),
    birth_year INTEGER CHECK (birth_year BETWEEN 1900 AND 2100),
    is_party_member BOOLEAN NOT NULL DEFAULT false,
    party_member_status VARCHAR CHECK (party_member_status IN ('employed', 'not_employed')),
    CHECK (party_member_status IS NULL OR is_party_member)
);

CREATE TABLE person_roles (
    person_id VARCHAR NOT NULL,
    role VARCHAR NOT NULL CHECK (role IN ('grid_leader', 'grid_worker', 'building_leader',
        'unit_leader', 'volunteer', 'community_worker', 'first_secretary', 'cadre', 'property_staff')),
    since DATE NOT NULL,
    until DATE,
    community_id VARCHAR,
    grid_id VARCHAR,
    building_id VARCHAR,
    unit_no INTEGER,
    org_id VARCHAR,
    PRIMARY KEY (person_id, role, since),
    CHECK (until IS NULL OR until >= since)
);

CREATE TABLE organizations (
    org_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR,
    name VARCHAR NOT NULL,
    org_type VARCHAR NOT NULL CHECK (org_type IN ('merchant', 'property_company',
        'co_building_unit', 'social_org', 'enterprise')),
    lat DOUBLE,
    lon DOUBLE,
    has_party_branch BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE volunteer_teams (
    team_id VARCHAR PRIMARY KEY,
    community_id VARCHAR NOT NULL,
    grid_id VARCHAR,
    name VARCHAR NOT NULL,
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
    hours DECIMAL(5, 1) NOT NULL CHECK (hours > 0 AND hours <= 24),
    kind VARCHAR NOT NULL
);

CREATE TABLE credit_indicators (
    indicator_code VARCHAR PRIMARY KEY,
    subject_type VARCHAR NOT NULL CHECK (subject_type IN ('person', 'org')),
    category VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    points DECIMAL(8, 2) NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

-- Append-only: a correction is a new event with reverses_event_id set, never an UPDATE.
CREATE TABLE credit_events (
    event_id BIGINT PRIMARY KEY,
    subject_type VARCHAR NOT NULL CHECK (subject_type IN ('person', 'org')),
    subject_id VARCHAR NOT NULL,
    indicator_code VARCHAR NOT NULL,
    points DECIMAL(8, 2) NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by VARCHAR,
    reverses_event_id BIGINT,
    note VARCHAR
);

CREATE TABLE redemption_scenarios (
    scenario_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    points_cost DECIMAL(8, 2) NOT NULL CHECK (points_cost >= 0),
    value_yuan DECIMAL(10, 2) CHECK (value_yuan >= 0),
    min_level VARCHAR,
    partner VARCHAR
);

CREATE TABLE redemptions (
    redemption_id BIGINT PRIMARY KEY,
    person_id VARCHAR NOT NULL,
    scenario_id VARCHAR NOT NULL,
    points DECIMAL(8, 2) NOT NULL CHECK (points >= 0),
    redeemed_at TIMESTAMP NOT NULL
);

CREATE TABLE tickets (
    ticket_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR,
    category VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    lat DOUBLE,
    lon DOUBLE,
    department VARCHAR,
    filed_by VARCHAR
);

CREATE TABLE ticket_events (
    ticket_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    step VARCHAR NOT NULL CHECK (step IN ('filed', 'accepted', 'discussed', 'decided', 'rated',
        'published', 'escalated', 'reopened')),
    occurred_at TIMESTAMP NOT NULL,
    actor_id VARCHAR,
    note VARCHAR,
    PRIMARY KEY (ticket_id, seq)
);

CREATE TABLE ticket_ratings (
    rating_id BIGINT PRIMARY KEY,
    ticket_id VARCHAR NOT NULL,
    rater_kind VARCHAR NOT NULL CHECK (rater_kind IN ('party_member', 'resident')),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    rated_at TIMESTAMP NOT NULL
);

CREATE TABLE facilities (
    facility_id VARCHAR PRIMARY KEY,
    facility_type VARCHAR NOT NULL CHECK (facility_type IN ('party_service_center', 'red_station',
        'deliberation_hall', 'courtyard_council', 'charging_shed', 'charging_pile',
        'new_employment_station', 'grid_home', 'elderly_canteen')),
    name VARCHAR NOT NULL,
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
    score DECIMAL(5, 1) NOT NULL CHECK (score BETWEEN 0 AND 100),
    PRIMARY KEY (org_id, quarter, evaluator)
);

CREATE TABLE micro_wishes (
    wish_id VARCHAR PRIMARY KEY,
    grid_id VARCHAR,
    category VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    filed_at TIMESTAMP NOT NULL,
    fulfilled_at TIMESTAMP,
    CHECK (fulfilled_at IS NULL OR fulfilled_at >= filed_at)
);

-- 一办七组: who is assigned where for emergencies (平时服务、战时应急).
CREATE TABLE emergency_assignments (
    person_id VARCHAR NOT NULL,
    community_id VARCHAR NOT NULL,
    group_code VARCHAR NOT NULL,
    PRIMARY KEY (person_id, community_id)
);
