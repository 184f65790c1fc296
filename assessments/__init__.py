"""Periodic assessments: scorecards for units and cadres over both halves of the dual duty.

The scheme (YAML) says what costs how much; scoring is a pure function from a frozen input
snapshot to a result, so a published assessment can be re-scored bit for bit years later.

    scheme.py        the scheme's pydantic shape and its cross-checks
    loading.py       reading a scheme file, every problem with file:line:column
    inputs.py        the input snapshot: org, findings, cases, decisions, awards
    scoring.py       inputs + scheme -> scorecards (lines, caps, shares, blockers)
    ranking.py       competition ranking within peer groups
    commendation.py  两优一先 shortlist with reasons
    gather.py        building the input snapshot from the database
    snapshots.py     storing, publishing and re-issuing versioned assessments
    service.py       the one call the CLI, the flow and the console make
    reports/         HTML (inline SVG charts, print CSS), XLSX, Markdown
"""
