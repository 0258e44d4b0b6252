"""A single check's one statement (subject as a CTE) agrees with the batch statements over the
temporary subjects table, on the sample city: same rows, rule by rule, for every kind of request."""
from pathlib import Path

import psycopg
import pytest

from processing import engine, rules, single, subjects

RULES = Path(__file__).resolve().parent.parent / "processing" / "rules" / "dammam.yml"
PROPOSALS = [
    subjects.Proposal(),
    subjects.Proposal(land_use="commercial", floors=3, height_m=14.5, footprint_area_m2=300.0),
    subjects.Proposal(land_use="residential", floors=9, height_m=40.0, footprint_area_m2=5000.0),
    subjects.Proposal(isic="5630", floors=2),
    subjects.Proposal(isic="4772", land_use="commercial", height_m=7.0),
    subjects.Proposal(isic="4711"),
]


@pytest.fixture(scope="module")
def conn(database_url):
    """A connection whose work is rolled back after the tests."""
    with psycopg.connect(database_url) as connection:
        yield connection
        connection.rollback()


@pytest.fixture(scope="module")
def parcel_numbers(conn) -> list[str]:
    """Parcels of every zone, some near facilities, licences and constraint zones."""
    return [row[0] for row in conn.execute(
        "SELECT parcel_no FROM parcels ORDER BY md5(parcel_no) LIMIT 40").fetchall()]


def _through_the_table(conn, ruleset, subject_type, parcel_no, proposal) -> dict:
    """Rows of the batch statements over a one-row temporary table."""
    subjects.prepare(conn)
    conn.execute("DELETE FROM check_subjects")
    assert subjects.add_registered_parcel(conn, subject_type, parcel_no, proposal)
    return engine.evaluate(conn, ruleset)


@pytest.mark.parametrize("subject_type", ["parcel", "licence"])
def test_the_single_statement_gives_the_rows_of_the_table_statements(conn, parcel_numbers,
                                                                     subject_type):
    ruleset = rules.load(RULES)
    compared = 0
    for parcel_no in parcel_numbers:
        for proposal in PROPOSALS:
            if subject_type == "licence" and proposal.isic is None:
                continue
            expected = _through_the_table(conn, ruleset, subject_type, parcel_no, proposal)
            single.begin(conn)
            subject = single.Subject.of(subject_type, proposal, parcel_no)
            assert single.evaluate(conn, ruleset, subject) == expected, (parcel_no, proposal)
            compared += 1
    assert compared >= 40
