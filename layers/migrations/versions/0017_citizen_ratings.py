"""Satisfaction ratings (issue 17 part 3): ratings of closed citizen reports and "was this
useful?" ratings of pages, and a monthly view per municipality for the published figures.

A report is rated once (the report is the primary key): 1 to 5 stars and an optional comment
(at most 1,000 characters, stored as text, escaped wherever shown). What proves the rater holds
the report is its tracking number, which is already a secret (60 random bits, shown only to the
submitter, lookups throttled per address); the rating form on /track is only rendered once the
report is closed and carries an HMAC over the number and the time it was shown (citizens.ratings),
so no separate per-report secret is stored. The rater's address digest (salted as the reports'
throttle) is kept for abuse review, never published.

A page rating is a path, yes or no and an optional comment, one per visitor (salted address
digest), page and local day (Arabia Standard Time), enforced by a unique key.

citizen_rating_monthly: per month (local time) and municipality of the report, the count of
ratings and the share of 4 and 5 stars (0 to 1), for part 4's performance page.

Revision ID: 0017_citizen_ratings
Revises: 0012_citizen_reports
"""
from alembic import op

revision = "0017_citizen_ratings"
down_revision = "0012_citizen_reports"
branch_labels = None
depends_on = None

DIGEST = "~ '^[0-9a-f]{64}$'"
LOCAL = "'Asia/Riyadh'"

UP = f"""
CREATE TABLE citizen_report_ratings (
  report_id bigint PRIMARY KEY REFERENCES citizen_reports (id) ON DELETE CASCADE,
  stars smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
  comment text CHECK (char_length(comment) BETWEEN 1 AND 1000),
  rater_sha256 text NOT NULL CHECK (rater_sha256 {DIGEST}),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX citizen_report_ratings_created_idx ON citizen_report_ratings (created_at);
COMMENT ON COLUMN citizen_report_ratings.comment IS 'public text: always escaped when shown';
COMMENT ON COLUMN citizen_report_ratings.rater_sha256 IS
  'sha256(citizen_salt.salt || address): abuse review only, never published';

CREATE TABLE citizen_page_ratings (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  path text NOT NULL CHECK (path ~ '^/[A-Za-z0-9/._~-]*$' AND char_length(path) <= 300),
  useful boolean NOT NULL,
  comment text CHECK (char_length(comment) BETWEEN 1 AND 1000),
  visitor_sha256 text NOT NULL CHECK (visitor_sha256 {DIGEST}),
  day date NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE {LOCAL})::date,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (path, visitor_sha256, day)
);
COMMENT ON COLUMN citizen_page_ratings.visitor_sha256 IS
  'sha256(citizen_salt.salt || address): one rating per visitor, page and day; never published';

CREATE VIEW citizen_rating_monthly AS
SELECT date_trunc('month', t.created_at AT TIME ZONE {LOCAL})::date AS month,
  r.municipality_code, count(*) AS ratings,
  round(avg((t.stars >= 4)::int), 4) AS satisfied_share
FROM citizen_report_ratings t JOIN citizen_reports r ON r.id = t.report_id
GROUP BY 1, 2;
COMMENT ON VIEW citizen_rating_monthly IS
  'per local month and municipality: ratings of closed reports and the share of 4-5 stars';
"""


def upgrade() -> None:
    """Create the rating tables and the monthly view."""
    op.execute(UP)


def downgrade() -> None:
    """Drop the view and the rating tables."""
    op.execute("DROP VIEW IF EXISTS citizen_rating_monthly")
    op.execute("DROP TABLE IF EXISTS citizen_page_ratings, citizen_report_ratings")
