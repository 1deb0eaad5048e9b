"""Template targeting and exemptions: what an attachment binds, which sub-trees are exempt, and
the compliance report computed with both (rules in ``federation.targeting``)."""
