-- Where each person was registered, and when: moving in, out and between grids. A person with no
-- row here has been registered in people.grid_id throughout; a person with rows is registered on a
-- day in the grid of the row that covers it, and nowhere on a day no row covers (moved away, not
-- yet arrived). people.grid_id stays the registration today (empty for someone who moved away).
-- Per-resident figures count a grid's residents as of the period's last day.
CREATE TABLE residence_history (
    person_id VARCHAR NOT NULL,
    grid_id VARCHAR NOT NULL,
    building_id VARCHAR,
    moved_in DATE NOT NULL,
    moved_out DATE,
    PRIMARY KEY (person_id, moved_in),
    CHECK (moved_out IS NULL OR moved_out >= moved_in)
);
