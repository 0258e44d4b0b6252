"""The zoning check of a licence write: the rules file's `zoning_activity` rules, run by the
permit checks' own statements on one registered parcel (layers.editing calls it inside the
write's transaction, so a refused activity leaves nothing written)."""
from kernel.messages import Phrase
from processing import engine, subjects

NONE = Phrase("لا شيء", "none")


def refusal_check(ruleset):
    """A check (conn, parcel_no, isic, x, y) -> the values of the refusal message (isic,
    parcel, rule, allowed) or None, on the rules file's `zoning_activity` rules, run by the
    permit checks' own statements."""
    rule_ids = frozenset(rule.id for rule in ruleset.of_kind("zoning_activity"))
    if not rule_ids:
        return None

    def refusal(conn, parcel_no: str, isic: str, x: float, y: float) -> dict | None:
        subjects.prepare(conn)
        conn.execute("DELETE FROM check_subjects")
        site = conn.execute("SELECT ST_AsEWKB(ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                            [x, y]).fetchone()[0].hex()
        subjects.add_registered_parcel(conn, "licence", parcel_no,
                                       subjects.Proposal(isic=isic, site=site))
        rows = engine.evaluate(conn, ruleset, only=rule_ids)
        conn.execute("DELETE FROM check_subjects")
        for (_, rule_id), (status, _, limit, _) in sorted(rows.items()):
            if status == "fail":
                allowed = ", ".join(limit) if isinstance(limit, list) else NONE
                return {"isic": isic, "parcel": parcel_no, "rule": rule_id, "allowed": allowed}
        return None

    return refusal
