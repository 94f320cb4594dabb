rule make_table:
    input:
        metrics=table_inputs,
        convergence=table_convergence,
        paper=PAPER_VALUES,
    output:
        csv=report(
            paths.fill(paths.TABLE, ext="csv"),
            category="Tables",
            caption="../report/table.rst",
            labels={"table": "{n}", "format": "csv"},
        ),
        parquet=paths.fill(paths.TABLE, ext="parquet"),
        md=paths.fill(paths.TABLE, ext="md"),
        half_csv=paths.at_budget(paths.fill(paths.TABLE, ext="csv"), "half"),
        half_parquet=paths.at_budget(paths.fill(paths.TABLE, ext="parquet"), "half"),
        half_md=paths.at_budget(paths.fill(paths.TABLE, ext="md"), "half"),
    log:
        paths.log("tables", "table{n}"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        tables=config["tables"],
        estimator=config["rv_estimator"],
    script:
        "../scripts/make_table.py"


# The scorecard: which of the paper's claims hold on the tables this config builds.
rule findings:
    input:
        unpack(findings_inputs),
        claims=PAPER_CLAIMS,
    output:
        csv=report(
            paths.FINDINGS["csv"],
            category="Findings",
            caption="../report/findings.rst",
            labels={"file": "claims and verdicts"},
        ),
        parquet=paths.FINDINGS["parquet"],
        md=paths.FINDINGS["md"],
        rst=paths.FINDINGS["rst"],
        scorecard=report(
            paths.FINDINGS["scorecard"],
            category="Findings",
            caption="../report/scorecard.rst",
            labels={"file": "scorecard: verdicts per table and by reason"},
        ),
        intervals_csv=report(
            paths.FINDINGS["intervals_csv"],
            category="Findings",
            caption="../report/cell_intervals.rst",
            labels={"file": "cell intervals"},
        ),
        intervals_parquet=paths.FINDINGS["intervals_parquet"],
    log:
        paths.log("tables", "findings"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        numbers=lambda w: targets.table_numbers(config),
        anchor_budget=lambda w: (
            targets.anchor_budget_table(config)
            if targets.anchor_budget_targets(config)
            else None
        ),
        chains=lambda w: targets.chain_claim_files(config),
    script:
        "../scripts/findings.py"


rule portability_table:
    input:
        lambda w: [
            f
            for budget in paths.BUDGETS
            for f in targets.files_in(
                targets.at_budget(targets.portability_table(config), budget)
            )
            + targets.files_in(
                targets.at_budget(targets.portability_convergence(config), budget)
            )
        ],
    output:
        csv=report(
            paths.fill(paths.PORTABILITY_TABLE, ext="csv"),
            category="Portability",
            caption="../report/portability_table.rst",
            labels={"table": "portability", "format": "csv"},
        ),
        parquet=paths.fill(paths.PORTABILITY_TABLE, ext="parquet"),
        md=paths.fill(paths.PORTABILITY_TABLE, ext="md"),
        half_csv=paths.at_budget(paths.fill(paths.PORTABILITY_TABLE, ext="csv"), "half"),
        half_parquet=paths.at_budget(
            paths.fill(paths.PORTABILITY_TABLE, ext="parquet"), "half"
        ),
        half_md=paths.at_budget(paths.fill(paths.PORTABILITY_TABLE, ext="md"), "half"),
    log:
        paths.log("tables", "portability"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        files=lambda w: targets.portability_table(config),
        convergence=lambda w: targets.portability_convergence(config),
        conditions=lambda w: targets.portability_conditions(config),
    script:
        "../scripts/portability_table.py"


# What the run was: machine, time per rule, budgets, convergence, findings (docs/results.md is a copy).
rule results_page:
    input:
        lambda w: targets.files_in(results_page_files()),
        # after every other target, so the time it reports is the whole run's
        lambda w: [t for t in targets.all_targets(config) if t != paths.RESULTS_PAGE],
    output:
        report(
            paths.RESULTS_PAGE,
            category="Findings",
            caption="../report/results_page.rst",
            labels={"file": "results page"},
        ),
    log:
        paths.log("tables", "results_page"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        inputs=lambda w: results_page_files(),
        config_files=[str(f) for f in CONFIG_FILES],
        code=workflow.basedir,
    script:
        "../scripts/results_page.py"
